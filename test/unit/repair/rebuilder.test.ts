import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RebuildRestartTooSoonError } from '../../../shared/errors.ts';
import type { QueuedDamage } from '../../../shared/repair/ports.ts';
import { newRebuildJob, type RebuildJob } from '../../../shared/repair/rebuild-job.ts';
import {
  type RebuilderDeps,
  runRebuildStep,
  startRebuild,
} from '../../../shared/repair/rebuilder.ts';
import { Throttle } from '../../../shared/repair/throttle.ts';
import { planVault } from '../../../shared/store/vault.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { type LogLine, MemoryLogger } from '../../helpers/logger.ts';
import {
  MemoryEventBus,
  MemoryLedger,
  MemoryObjectIndex,
  MemoryRebuildJobStore,
  MemoryRebuildTrigger,
  MemoryRepairQueue,
  MemorySliceStore,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

test('a step that fails rethrows its error, and a checkpoint that fails too is logged', async () => {
  // Prepare: the repair queue cannot be read, and the job store refuses the last save.
  const clock = new ManualClock(0);
  const job = newRebuildJob('photos', { restart: false, stepSegments: 0 }, clock.date());
  class ThrottledJobs extends MemoryRebuildJobStore {
    override async save(_job: RebuildJob, _holder: string): Promise<boolean> {
      throw new Error('table throttled', { cause: 'ProvisionedThroughputExceeded' });
    }
  }
  class UnreachableQueue extends MemoryRepairQueue {
    override async receive(_max: number): Promise<QueuedDamage[]> {
      throw new Error('queue unreachable');
    }
  }
  const jobs = new ThrottledJobs();
  await jobs.start(job, false);
  const log = new MemoryLogger();
  const deps: RebuilderDeps = {
    index: new MemoryObjectIndex(),
    slices: new MemorySliceStore(6, clock),
    ledger: new MemoryLedger(),
    vaults: new MemoryVaultStore(),
    inbox: new UnreachableQueue(clock),
    jobs,
    trigger: new MemoryRebuildTrigger(),
    events: new MemoryEventBus(),
    throttle: new Throttle(0, clock),
    orphanAgeMs: 60_000,
    log,
    clock,
  };

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

test('a restart of a running rebuild is refused within a minute of its start; after that, or once it is done, it is taken', async () => {
  // Prepare
  const clock = new ManualClock();
  const vault = planVault(
    { name: 'photos', width: 3, readThreshold: 2, writeThreshold: 2 },
    3,
    [],
    clock.date(),
  );
  const jobs = new MemoryRebuildJobStore();
  const trigger = new MemoryRebuildTrigger();
  const deps = { vaults: new MemoryVaultStore([vault]), jobs, trigger, clock };
  const restart = { restart: true, stepSegments: 0 };

  // Act and assess
  const first = await startRebuild(deps, 'photos', { restart: false, stepSegments: 0 });
  clock.advance(59_000);
  await assert.rejects(
    startRebuild(deps, 'photos', restart),
    (err: Error) =>
      err instanceof RebuildRestartTooSoonError &&
      err.retryAfterSeconds === 1 &&
      /started 59 s ago/.test(err.message),
  );
  assert.equal((await jobs.get('photos'))?.id, first.id, 'the running job is kept');
  clock.advance(1_000);
  const second = await startRebuild(deps, 'photos', restart);
  assert.notEqual(second.id, first.id);
  // The job finishes (its worker holds the lease and saves it done).
  await jobs.lease('photos', second.id, 'w', clock.now() + 1000, clock.now());
  await jobs.save({ ...second, state: 'done' }, 'w', true);
  const third = await startRebuild(deps, 'photos', restart);
  assert.notEqual(third.id, second.id, 'a done job is restarted at once');
});
