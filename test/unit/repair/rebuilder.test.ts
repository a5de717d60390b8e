import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { codecFor } from '../../../shared/codec/codecs.ts';
import { encodeSegment } from '../../../shared/codec/segment.ts';
import { encodeSlice, s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import { RebuildRestartTooSoonError } from '../../../shared/errors.ts';
import type { QueuedDamage } from '../../../shared/repair/ports.ts';
import { newRebuildJob, type RebuildJob } from '../../../shared/repair/rebuild-job.ts';
import {
  type RebuilderDeps,
  runRebuildStep,
  startRebuild,
} from '../../../shared/repair/rebuilder.ts';
import { Throttle } from '../../../shared/repair/throttle.ts';
import type { IndexEntry } from '../../../shared/store/ports.ts';
import { newRevisionId, objectIdOf } from '../../../shared/store/revision.ts';
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

/** A rebuilder's deps for vault `photos` (3-of-5, write threshold 4) in a pool of `pool` units. */
function rebuilderDeps(
  parts: Pick<RebuilderDeps, 'index' | 'slices' | 'inbox' | 'jobs'> & { clock: ManualClock },
  pool: number,
): RebuilderDeps {
  const { clock } = parts;
  return {
    ...parts,
    ledger: new MemoryLedger(),
    vaults: new MemoryVaultStore([
      planVault(
        { name: 'photos', width: 5, readThreshold: 3, writeThreshold: 4 },
        pool,
        [],
        clock.date(),
      ),
    ]),
    trigger: new MemoryRebuildTrigger(),
    events: new MemoryEventBus(),
    throttle: new Throttle(0, clock),
    orphanAgeMs: 60_000,
    log: new MemoryLogger(),
  };
}

test('a lost segment met by the repair queue, again by the scan, and again after a redelivery is counted once', async () => {
  // Prepare: one 3-of-5 segment with three slices gone, and a read's report of it queued twice.
  const clock = new ManualClock(0);
  const bytes = randomBytes(3000);
  const entry: IndexEntry = {
    vault: 'photos',
    key: 'gone',
    revision: newRevisionId(),
    objectId: objectIdOf('photos', 'gone'),
    size: bytes.length,
    sha256: '',
    segments: 1,
    segmentSize: 4096,
    readThreshold: 3,
    units: [0, 1, 2, 3, 4],
    committedAt: clock.date().toISOString(),
  };
  const slices = new MemorySliceStore(5, clock);
  for (const [pillar, payload] of encodeSegment(codecFor(3, 2), bytes).entries()) {
    if (pillar < 3) continue;
    const slice = encodeSlice(
      {
        name: { ...entry, segment: 0, pillar },
        dataShards: 3,
        parityShards: 2,
        segmentLength: 3000,
      },
      payload,
    );
    await slices.put(
      pillar,
      formatSliceName({ ...entry, segment: 0, pillar }),
      slice,
      s3Crc32(slice),
    );
  }
  const index = new MemoryObjectIndex();
  await index.publish(entry);
  const inbox = new MemoryRepairQueue(clock);
  const damage = {
    vault: 'photos',
    key: 'gone',
    revision: entry.revision,
    segment: 0,
    pillar: 0,
    unit: 0,
    defect: 'missing' as const,
    detail: 'NoSuchKey',
    at: clock.date().toISOString(),
  };
  await inbox.record([damage]);
  const jobs = new MemoryRebuildJobStore();
  const job = newRebuildJob('photos', { restart: false, stepSegments: 0 }, clock.date());
  await jobs.start(job, false);
  const deps = rebuilderDeps({ index, slices, inbox, jobs, clock }, 5);

  // Act: the first step drains the report and scans; the report comes again (at least once).
  await runRebuildStep(deps, 'photos', job.id, clock.now() + 60_000);
  await inbox.record([damage]);
  const rewound = (await jobs.get('photos')) as RebuildJob;
  // As if the step had crashed after saving its count but before its checkpoint moved on.
  const { scanCursor: _cursor, finishedAt: _finished, ...before } = rewound;
  await jobs.start({ ...before, state: 'running', phase: 'scan' }, true);
  await runRebuildStep(deps, 'photos', job.id, clock.now() + 60_000);

  // Assess
  const done = (await jobs.get('photos')) as RebuildJob;
  assert.equal(done.segmentsLost, 1);
  assert.deepEqual(
    done.lost.map((l) => [l.key, l.segment, l.good]),
    [['gone', 0, 2]],
  );
});

test('a slice missing on a unit the object was moved off since its index page was read is not healed there', async () => {
  // Prepare: one 3-of-5 segment whose pillar 4 a topology job moved from unit 4 to unit 7 after
  // the rebuild read its page (the old copy deleted); the page still says unit 4.
  const clock = new ManualClock(0);
  const bytes = randomBytes(3000);
  const before: IndexEntry = {
    vault: 'photos',
    key: 'moved',
    revision: newRevisionId(),
    objectId: objectIdOf('photos', 'moved'),
    size: bytes.length,
    sha256: '',
    segments: 1,
    segmentSize: 4096,
    readThreshold: 3,
    units: [0, 1, 2, 3, 4],
    committedAt: clock.date().toISOString(),
  };
  const after = { ...before, units: [0, 1, 2, 3, 7] };
  const slices = new MemorySliceStore(8, clock);
  for (const [pillar, payload] of encodeSegment(codecFor(3, 2), bytes).entries()) {
    const name = { ...before, segment: 0, pillar };
    const slice = encodeSlice(
      { name, dataShards: 3, parityShards: 2, segmentLength: 3000 },
      payload,
    );
    await slices.put(after.units[pillar] as number, formatSliceName(name), slice, s3Crc32(slice));
  }
  const index = new MemoryObjectIndex();
  await index.publish(after);
  const stale: RebuilderDeps['index'] = Object.assign(Object.create(index), {
    list: async (...args: Parameters<MemoryObjectIndex['list']>) => {
      const page = await index.list(...args);
      return { ...page, entries: page.entries.map((e) => (e.key === 'moved' ? before : e)) };
    },
  });
  const jobs = new MemoryRebuildJobStore();
  const job = newRebuildJob('photos', { restart: false, stepSegments: 0 }, clock.date());
  await jobs.start(job, false);
  const deps = rebuilderDeps(
    { index: stale, slices, inbox: new MemoryRepairQueue(clock), jobs, clock },
    8,
  );

  // Act
  await runRebuildStep(deps, 'photos', job.id, clock.now() + 60_000);

  // Assess
  const done = (await jobs.get('photos')) as RebuildJob;
  assert.equal(done.segmentsScanned, 1);
  assert.equal(done.slicesRepaired, 0);
  assert.equal(
    await slices.head(4, formatSliceName({ ...before, segment: 0, pillar: 4 })),
    undefined,
    'nothing written to the unit the pillar left',
  );
});
