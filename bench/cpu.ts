/**
 * Where a benchmark's CPU goes: seconds of CPU (user and system) per thread name of this
 * process (the emulators on `MainThread`, each function's sandboxes on threads named by its key,
 * shown truncated to 15 characters, as Linux keeps them) and per child process (DynamoDB Local's
 * `java`), read from /proc. Linux only; elsewhere the snapshot is empty.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, as /proc counts them (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** CPU seconds by thread or process id, with its name. */
export type CpuSnapshot = Map<string, { name: string; seconds: number }>;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // A thread or process that ended meanwhile.
  }
}

/** utime + stime of a /proc stat line, and its name (the field in parentheses). */
function parseStat(stat: string): { name: string; seconds: number; ppid: number } {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // After the name: state ppid ... utime is field 14 of the line, the 12th after the name.
  return {
    name: stat.slice(open + 1, close),
    ppid: Number(fields[1]),
    seconds: (Number(fields[11]) + Number(fields[12])) / TICKS,
  };
}

function ids(dir: string): string[] {
  try {
    return readdirSync(dir).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
}

/** This process's threads and its child processes (each child whole), now. */
export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const tid of ids('/proc/self/task')) {
    const stat = read(`/proc/self/task/${tid}/stat`);
    if (stat) out.set(`t${tid}`, parseStat(stat));
  }
  for (const pid of ids('/proc')) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    const p = parseStat(stat);
    if (p.ppid === process.pid) out.set(`p${pid}`, p);
  }
  return out;
}

/**
 * CPU seconds spent between two snapshots, summed per name, largest first; threads that ended
 * in between are not counted (the sandboxes live as long as the cloud).
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const [id, a] of after) {
    const spent = a.seconds - (before.get(id)?.seconds ?? 0);
    if (spent > 0) sums.set(a.name, (sums.get(a.name) ?? 0) + spent);
  }
  return [...sums].sort((x, y) => y[1] - x[1]);
}

/** `name 1.2 s, other 0.3 s, ...` with the total first; names under 0.05 s left out. */
export function cpuLine(spent: Array<[string, number]>): string {
  const total = spent.reduce((n, [, s]) => n + s, 0);
  const shown = spent.filter(([, s]) => s >= 0.05).map(([n, s]) => `${n} ${s.toFixed(1)} s`);
  return `${total.toFixed(1)} s (${shown.join(', ')})`;
}
