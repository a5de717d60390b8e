/**
 * One local cloud per data folder. Two emulators over the same files would corrupt them, and
 * the S3 store's crash recovery (s3-recovery.ts) would take a live write for debris. The lock
 * is `<dataDir>/cloud.lock`, created exclusively and holding the owner's pid; a lock whose
 * process is gone (a cloud killed with SIGKILL) is taken over. Two clouds starting on the same
 * stale lock in the same instant could both take it; this guards against the everyday case,
 * a second `npm start` on a folder in use, not that one.
 */
import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  readonly dataDir: string;
  readonly pid: number;
  constructor(dataDir: string, pid: number) {
    super(
      `data folder ${dataDir} is in use by another local cloud (pid ${pid}); stop it, or set DSN_DATA_DIR to another folder`,
    );
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** A lock file still empty after this long lost its writer. */
const UNWRITTEN_LOCK_MS = 5_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data folder's lock; resolves with its release.
 * @throws DataDirInUseError when a live process holds it (this one included).
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'cloud.lock');
  for (;;) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0) {
      if (pid === process.pid || alive(pid)) throw new DataDirInUseError(dataDir, pid);
    } else {
      // No pid yet: a lock being written, unless its writer died between create and write.
      const age = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
      if (age < UNWRITTEN_LOCK_MS) throw new DataDirInUseError(dataDir, 0);
    }
    await rm(path, { force: true });
  }
}

/**
 * Releases the lock now, if this process holds it: for an exit that does not wait for the stop
 * (a second Ctrl-C). The next start would take over the lock of a process that is gone anyway;
 * this spares it the check, and a reused pid from looking like a live owner.
 */
export function releaseDataDirLockSync(dataDir: string): void {
  const path = join(dataDir, 'cloud.lock');
  try {
    if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) rmSync(path);
  } catch {
    // No lock, or not ours: nothing to release.
  }
}
