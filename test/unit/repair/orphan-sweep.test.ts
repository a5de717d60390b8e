/**
 * The orphan sweep's verdicts on revisions the ledger knows: a committed revision whose key
 * names a newer one (or none) and whose tasks are done was replaced, its retire lost to a crash
 * between the index's write and the ledger's; the sweep retires it for the janitor. One whose
 * tasks have not run yet may still become the key's, and stays committed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import { sweepOrphans } from '../../../shared/repair/orphan-sweep.ts';
import { newRebuildJob } from '../../../shared/repair/rebuild-job.ts';
import type { RevisionRecord } from '../../../shared/store/revision.ts';
import { newRevisionId } from '../../../shared/store/revision.ts';
import { planVault } from '../../../shared/store/vault.ts';
import { ManualClock } from '../../helpers/clock.ts';
import {
  MemoryLedger,
  MemoryObjectIndex,
  MemorySliceStore,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

test('a replaced revision whose retire was lost is retired by the sweep; one whose tasks have not run stays', async () => {
  // Prepare: three committed revisions of one key, each with a slice on unit 0; the key names
  // the newest. The oldest's tasks are done, the middle one's not.
  const clock = new ManualClock();
  const vault = planVault(
    { name: 'photos', width: 3, readThreshold: 2, writeThreshold: 2 },
    3,
    [],
    clock.date(),
  );
  const ledger = new MemoryLedger();
  const index = new MemoryObjectIndex();
  const slices = new MemorySliceStore(3, clock);
  const objectId = 'o'.repeat(22);
  const revisions: string[] = [];
  for (let i = 0; i < 3; i++) {
    const revision = newRevisionId(clock.now() + i);
    revisions.push(revision);
    const record: RevisionRecord = {
      revision,
      vault: 'photos',
      key: 'cat.jpg',
      objectId,
      state: 'pending',
      segmentSize: vault.segmentSize,
      readThreshold: 2,
      writeThreshold: 2,
      units: vault.units,
      doneSegments: 0,
      failedUnits: [],
      createdAt: clock.date().toISOString(),
      tasksDone: false,
    };
    await ledger.createPending(record, clock.now() + 60_000);
    await ledger.finishWriting(revision, { segments: 1, size: 4, sha256: 'a'.repeat(64) });
    await ledger.markSegmentsDone(revision, [0]);
    assert.ok(await ledger.commit(revision, 1, clock.date()));
    if (i !== 1) await ledger.markTasksDone(revision);
    const name = { vault: 'photos', objectId, revision, segment: 0, pillar: 0 };
    const bytes = new Uint8Array(8);
    await slices.put(vault.units[0] as number, formatSliceName(name), bytes, s3Crc32(bytes));
  }
  const [oldest, middle, newest] = revisions as [string, string, string];
  await index.publish({
    vault: 'photos',
    key: 'cat.jpg',
    revision: newest,
    objectId,
    size: 4,
    sha256: 'a'.repeat(64),
    segments: 1,
    segmentSize: vault.segmentSize,
    readThreshold: 2,
    units: vault.units,
    committedAt: clock.date().toISOString(),
  });
  const job = newRebuildJob('photos', { restart: false, stepSegments: 0 }, clock.date());
  job.phase = 'orphans';

  // Act
  await sweepOrphans({
    deps: {
      vaults: new MemoryVaultStore([vault]),
      slices,
      ledger,
      index,
      orphanAgeMs: 60_000,
      clock,
    },
    job,
    deadline: Number.POSITIVE_INFINITY,
    saveNowAndThen: async () => {},
    save: async () => {},
  });

  // Assess
  assert.equal((await ledger.get(oldest))?.state, 'garbage', 'retired for the janitor');
  assert.equal((await ledger.get(middle))?.state, 'committed', 'its index task may still run');
  assert.equal((await ledger.get(newest))?.state, 'committed', 'the key names it');
  assert.equal(job.revisionsRetired, 1);
  assert.equal(job.phase, 'done');
});
