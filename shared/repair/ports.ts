/** The ports of the repair system; `shared/aws/repair/` implements them. */
import type { SliceDamage } from '../store/index.ts';
import type { RebuildJob } from './rebuild-job.ts';

/** A damage record taken from the repair queue, with the handle that removes it once repaired. */
export interface QueuedDamage {
  damage: SliceDamage;
  handle: string;
}

/** The rebuilder's side of the repair queue. */
export interface RepairInbox {
  /** Up to `max` records waiting now (none when the queue is empty; it does not wait). */
  receive(max: number): Promise<QueuedDamage[]>;
  /** Removes handled records. */
  remove(handles: string[]): Promise<void>;
}

/**
 * Rebuild jobs, one per vault, with a lease so that one invocation at a time works on a job
 * (SQS may deliver a continuation twice, and a schedule may start one while another runs).
 */
export interface RebuildJobStore {
  get(vault: string): Promise<RebuildJob | undefined>;
  /**
   * Stores `job` as the vault's job unless one is running; returns the job now in force (the
   * running one, or `job`). With `restart`, replaces a running job too.
   */
  start(job: RebuildJob, restart: boolean): Promise<RebuildJob>;
  /**
   * Takes the lease of job `id` for `holder` until `until` (epoch ms). False when the job is no
   * longer `id`, is done, or another holder's lease has not expired at `now`.
   */
  lease(vault: string, id: string, holder: string, until: number, now: number): Promise<boolean>;
  /** Saves progress while `holder` holds the lease; false when it lost it. `release` ends the lease. */
  save(job: RebuildJob, holder: string, release?: boolean): Promise<boolean>;
}

/** Makes a rebuild job carry on in a fresh invocation. */
export interface RebuildTrigger {
  continue(vault: string, id: string): Promise<void>;
}
