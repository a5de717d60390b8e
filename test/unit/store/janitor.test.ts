import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoleLostError } from '../../../shared/errors.ts';
import { runJanitor } from '../../../shared/store/index.ts';
import type { RevisionRecord } from '../../../shared/store/revision.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryLedger, MemorySliceStore } from '../../helpers/memory/index.ts';

function pending(revision: string): RevisionRecord {
  return {
    revision,
    vault: 'photos',
    key: `${revision}.bin`,
    objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
    state: 'pending',
    segmentSize: 65536,
    readThreshold: 2,
    writeThreshold: 2,
    units: [0, 1, 2],
    doneSegments: 0,
    failedUnits: [],
    createdAt: '2026-12-01T00:00:00.000Z',
    tasksDone: false,
  };
}

test("a janitor that loses its role stops before its next revision, leaving it to the role's new holder", async () => {
  // Prepare: two stale pending revisions; the role is taken over after the first.
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  await ledger.createPending(pending('00aaaaaaaaaaaaaaaaaaaaaaaa'), clock.now() - 2);
  await ledger.createPending(pending('00bbbbbbbbbbbbbbbbbbbbbbbb'), clock.now() - 1);
  let renewals = 0;
  const role = {
    renew: async () => {
      renewals++;
      if (renewals > 1) throw new RoleLostError('janitor', 1, 'taken over or released');
    },
  };

  // Act, Assess
  await assert.rejects(
    runJanitor({ ledger, slices: new MemorySliceStore(3), clock, role }),
    RoleLostError,
  );
  assert.equal((await ledger.get('00aaaaaaaaaaaaaaaaaaaaaaaa'))?.state, undefined);
  assert.equal((await ledger.get('00bbbbbbbbbbbbbbbbbbbbbbbb'))?.state, 'pending');
});
