/**
 * The repair system's ports in memory: the repair queue (as SQS keeps it: a record taken and
 * not removed comes back after a visibility timeout), rebuild jobs with their lease (as
 * DynamoRebuildJobStore keeps them: one item per vault, every change one conditional write),
 * and the trigger that carries a job on.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../../shared/clock.ts';
import type {
  QueuedDamage,
  RebuildJob,
  RebuildJobStore,
  RebuildTrigger,
  RepairInbox,
} from '../../../shared/repair/index.ts';
import type { RepairLog, SliceDamage } from '../../../shared/store/index.ts';
import { document } from './documents.ts';

/** As SqsRepairLog asks: a record taken but not removed comes back after this long. */
export const RETRY_AFTER_MS = 300_000;

interface Queued {
  body: string;
  visibleAt: number;
  handle?: string;
}

export class MemoryRepairQueue implements RepairLog, RepairInbox {
  private readonly queue: Queued[] = [];
  private readonly clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  /** Records in the queue, taken or not. */
  get size(): number {
    return this.queue.length;
  }

  async record(damage: SliceDamage[]): Promise<void> {
    for (const d of damage) this.queue.push({ body: JSON.stringify(d), visibleAt: 0 });
  }

  async receive(max: number): Promise<QueuedDamage[]> {
    const now = this.clock.now();
    const taken: QueuedDamage[] = [];
    for (const queued of this.queue) {
      if (taken.length >= Math.min(10, Math.max(1, max))) break;
      if (queued.visibleAt > now) continue;
      queued.handle = randomUUID();
      queued.visibleAt = now + RETRY_AFTER_MS;
      taken.push({ damage: JSON.parse(queued.body) as SliceDamage, handle: queued.handle });
    }
    return taken;
  }

  async remove(handles: string[]): Promise<void> {
    // A handle from an earlier receive of a record taken again since removes nothing, as on SQS.
    for (const handle of handles) {
      const at = this.queue.findIndex((q) => q.handle === handle);
      if (at >= 0) this.queue.splice(at, 1);
    }
  }
}

interface JobItem {
  jobId: string;
  state: RebuildJob['state'];
  job: RebuildJob;
  holder?: string;
  leaseUntil?: number;
}

export class MemoryRebuildJobStore implements RebuildJobStore {
  /** vault -> its job item */
  private readonly items = new Map<string, JobItem>();

  async get(vault: string): Promise<RebuildJob | undefined> {
    const item = this.items.get(vault);
    return item && document(item.job);
  }

  async start(job: RebuildJob, restart: boolean): Promise<RebuildJob> {
    const running = this.items.get(job.vault);
    if (!restart && running && running.state !== 'done') return document(running.job);
    // A put: the new item has no lease.
    this.items.set(job.vault, { jobId: job.id, state: job.state, job: document(job) });
    return job;
  }

  async lease(
    vault: string,
    id: string,
    holder: string,
    until: number,
    now: number,
  ): Promise<boolean> {
    const item = this.items.get(vault);
    if (!item || item.jobId !== id || item.state !== 'running') return false;
    const expired = item.leaseUntil !== undefined && item.leaseUntil < now;
    if (item.holder !== undefined && !expired) return false;
    item.holder = holder;
    item.leaseUntil = until;
    return true;
  }

  async save(job: RebuildJob, holder: string, release = false): Promise<boolean> {
    const item = this.items.get(job.vault);
    // Whoever holds the lease saves, expired or not, until another holder takes it.
    if (!item || item.jobId !== job.id || item.holder !== holder) return false;
    item.job = document(job);
    item.state = job.state;
    if (release) {
      delete item.holder;
      delete item.leaseUntil;
    }
    return true;
  }
}

export class MemoryRebuildTrigger implements RebuildTrigger {
  /** Every continuation asked for, in order. */
  readonly continued: Array<{ vault: string; id: string }> = [];

  async continue(vault: string, id: string): Promise<void> {
    this.continued.push({ vault, id });
  }
}
