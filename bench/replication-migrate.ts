/**
 * bench:replication's migration pause: a job copying one large object is migrated between
 * workers again and again (`POST .../migrate`).
 */
import type { ReplicationLog } from '../shared/replication/index.ts';
import { median } from './stats.ts';

/** How long the job may take to list its task before the measure fails. */
const LISTING_WAIT_MS = 30_000;

export interface MigrationPauses {
  /** By the moment of the stop: in the log, and (random ones) from the admin's call. */
  pauses: Record<'random' | 'checkpoint' | 'call', number[]>;
  /** One part's copy time, by the worker's clock: the gaps between checkpoints seen. */
  partGaps: number[];
}

/**
 * Runs the job of the vault `bench-src`'s `mig/` prefix to the bucket `bench-mig` (both made
 * by the caller) and migrates its copy of `parts` parts while at least two are left.
 */
export async function migrationPauses(deps: {
  api: (path: string, init?: RequestInit) => Promise<Response>;
  log: Pick<ReplicationLog, 'getTask'>;
  parts: number;
}): Promise<MigrationPauses> {
  const { api, log, parts } = deps;
  // Migration pause: a job copying one large object; once it is running, `migrate` (the stop
  // sent), then the time until the task runs on the worker it moved to (the remainder
  // started, at that worker's clock: the task's `startedAt` in the log, read once polling its
  // task every 25 ms shows it running there; same machine, same clock). Again after each resumed part, while parts
  // are left. One part's copy time, to compare with: the median gap between checkpoints seen.
  // By the moment of the stop (at a random point of a part, or just after a checkpoint), from
  // the stop in the log (its `stopAskedAt`, as the API's clock read it when it wrote it); and,
  // for the random ones, from this process's call to the API.
  const pauses: MigrationPauses['pauses'] = { random: [], checkpoint: [], call: [] };
  const partGaps: number[] = [];
  type Task = {
    id: string;
    state: string;
    partsDone?: number;
    destinationWorker: number | null;
    error?: string;
    /** In the log's own read only (not the API's). */
    checkpointAt?: string;
  };
  const res = await api('/replications', {
    method: 'POST',
    body: JSON.stringify({
      source: { vault: 'bench-src', prefix: 'mig/' },
      destination: { bucket: 'bench-mig' },
    }),
  });
  if (res.status !== 202) throw new Error(`replication: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  // The job's one task, read from the log itself (one GetItem) once the API has named it:
  // polling through the API every 25 ms (the authorizer, the API function and a Query, each
  // time) loaded the two cores and the emulators the hand-over runs on. The pause is timed
  // by the log's own timestamps either way; the poll only finds the moments.
  let taskId: string | undefined;
  const look = async (): Promise<Task | undefined> => {
    if (taskId === undefined) {
      const listed = ((await (await api(`/replications/${id}/tasks`)).json()) as { tasks: Task[] })
        .tasks[0];
      taskId = listed?.id;
      return listed;
    }
    const t = await log.getTask(id, taskId);
    return t && { ...t, destinationWorker: t.destinationWorker ?? null };
  };
  const tick = () => new Promise((r) => setTimeout(r, 25));
  const listedSince = Date.now();
  for (;;) {
    const t = await look();
    if (t?.state === 'failed') throw new Error(`the migrated copy failed: ${JSON.stringify(t)}`);
    // The job's task is listed once its dispatch ran: until then, nothing to migrate yet.
    if (!t && taskId === undefined) {
      if (Date.now() - listedSince >= LISTING_WAIT_MS)
        throw new Error(`replication ${id}: no task listed within ${LISTING_WAIT_MS / 1000} s`);
      await tick();
      continue;
    }
    if (!t || t.state === 'done') break;
    const done = t.partsDone ?? 0;
    // Running, a part done since it started here, and at least two parts left to move.
    if (t.state !== 'running' || done === 0 || parts - done < 2) {
      await tick();
      continue;
    }
    const started = done;
    // Alternately: at once (just after the checkpoint this look saw, within a tick), or after
    // a random share of one part's copy time as seen so far (the first stop has none yet).
    const moment =
      partGaps.length > 0 && pauses.checkpoint.length > pauses.random.length
        ? 'random'
        : 'checkpoint';
    if (moment === 'random')
      await new Promise((r) => setTimeout(r, Math.random() * median(partGaps)));
    const sent = Date.now();
    const m = await api(`/replications/${id}/tasks/${t.id}/migrate`, {
      method: 'POST',
      body: '{}',
    });
    if (m.status !== 202) {
      await tick();
      continue;
    }
    const { to } = (await m.json()) as { to: number };
    let base = started;
    for (;;) {
      const n = await look();
      if (!n || n.state === 'done' || n.state === 'failed') break;
      if (n.state === 'running' && n.destinationWorker === to) {
        // When the remainder started: its worker's own time, as its `started` status brought
        // it to the log (this poll sees it a status hop and up to a tick later).
        const logged = await log.getTask(id, t.id);
        const at = logged?.startedAt;
        const asked = logged?.stopAskedAt;
        if (!at || !asked) throw new Error(`task ${t.id} runs with no startedAt or stopAskedAt`);
        pauses[moment].push(Date.parse(at) - Date.parse(asked));
        if (moment === 'random') pauses.call.push(Date.parse(at) - sent);
        base = n.partsDone ?? started;
        break;
      }
      await tick();
    }
    // On the new worker: the gap between its first two checkpoints is one part's copy time,
    // by the worker's own clock (`checkpointAt`, from its statuses), so a status that waited
    // in the queue does not shorten it; the next migration comes after them.
    let first: string | undefined;
    for (;;) {
      const n = await look();
      const at = n?.partsDone ?? parts;
      if (!n || n.state === 'done' || n.state === 'failed' || at >= base + 2) {
        if (first !== undefined && at === base + 2 && n?.checkpointAt)
          partGaps.push(Date.parse(n.checkpointAt) - Date.parse(first));
        break;
      }
      if (at === base + 1 && first === undefined) first = n.checkpointAt;
      await tick();
    }
  }
  return { pauses, partGaps };
}

/** The rows of the migration table. */
export function migrationRows(
  m: MigrationPauses,
  migrateBytes: number,
  partBytes: number,
): string[] {
  const MiB = 1024 * 1024;
  const { pauses, partGaps } = m;
  const all = [...pauses.random, ...pauses.checkpoint];
  return [
    `| migration of an in-flight ${(migrateBytes / MiB).toFixed(0)} MiB copy (${partBytes / MiB} MiB parts) | ms |`,
    '| --- | ---: |',
    `| pause, stop sent at a random point of a part (in the log) to remainder started: p50 of ${pauses.random.length} (${pauses.random.map((p) => p.toFixed(0)).join(', ')}) | ${median(pauses.random).toFixed(0)} |`,
    `| the same stops, from the admin's call (\`POST .../migrate\` sent, the authorizer and the API function before the stop is written): p50 | ${median(pauses.call).toFixed(0)} |`,
    `| pause, stop sent just after a checkpoint (a whole part in flight, left to the next worker): p50 of ${pauses.checkpoint.length} (${pauses.checkpoint.map((p) => p.toFixed(0)).join(', ')}) | ${median(pauses.checkpoint).toFixed(0)} |`,
    `| pause, all stops: p50 of ${all.length} | ${median(all).toFixed(0)} |`,
    `| one part's copy time (median gap between checkpoints, by the worker's clock, ${partGaps.length} seen) | ${median(partGaps).toFixed(0)} |`,
    `| target: pause (all stops, p50) <= one part's copy time | ${median(all) <= median(partGaps) ? 'met' : 'MISSED'} |`,
  ];
}
