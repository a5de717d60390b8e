import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RebuildJobStore, RepairInbox } from '../../../shared/repair/ports.ts';
import { newRebuildJob, type RebuildJob } from '../../../shared/repair/rebuild-job.ts';
import { type RebuilderDeps, runRebuildStep } from '../../../shared/repair/rebuilder.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { type LogLine, MemoryLogger } from '../../helpers/logger.ts';

test('a step that fails rethrows its error, and a checkpoint that fails too is logged', async () => {
  // Prepare: the repair queue cannot be read, and the job store refuses the last save.
  const job = newRebuildJob('photos', { restart: false, stepSegments: 0 }, new Date(0));
  const jobs: Pick<RebuildJobStore, 'lease' | 'get' | 'save'> = {
    lease: async () => true,
    get: async (): Promise<RebuildJob> => job,
    save: async () => {
      throw new Error('table throttled', { cause: 'ProvisionedThroughputExceeded' });
    },
  };
  const inbox: Pick<RepairInbox, 'receive'> = {
    receive: async () => {
      throw new Error('queue unreachable');
    },
  };
  const log = new MemoryLogger();
  // Only what a failing first step touches; the rest is never called.
  const deps = { jobs, inbox, log, clock: new ManualClock(0) } as unknown as RebuilderDeps;

  // Act and assess: the step's own error reaches the caller ...
  await assert.rejects(runRebuildStep(deps, 'photos', job.id, 60_000), /queue unreachable/);

  // ... and the failed checkpoint is a log line with the error and its cause.
  assert.equal(log.lines.length, 1);
  const line = log.lines[0] as LogLine;
  assert.equal(line.level, 'warn');
  assert.equal(line.fields.vault, 'photos');
  assert.equal(line.fields.job, job.id);
  assert.deepEqual((line.fields.error as { message: string; cause: unknown }).cause, {
    value: 'ProvisionedThroughputExceeded',
  });
  assert.equal((line.fields.error as { message: string }).message, 'table throttled');
});
