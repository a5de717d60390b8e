import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import type { UnitMessage } from '../../../shared/store/multicast.ts';
import type { Ledger, ObjectIndex, SliceStore, VaultStore } from '../../../shared/store/ports.ts';
import type { RevisionRecord } from '../../../shared/store/revision.ts';
import type { Vault } from '../../../shared/store/vault.ts';
import { type WriterDeps, waitForOutcome, writeObject } from '../../../shared/store/writer.ts';

const MiB = 1024 * 1024;
const vault: Vault = {
  name: 'default',
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
  segmentSize: MiB,
  units: [0, 1, 2, 3, 4, 5],
  address: 'vault/default',
  createdAt: new Date(0).toISOString(),
};

/** A writer over fakes that record what it does; slice uploads wait for `release`. */
function recordingWriter() {
  const log: string[] = [];
  const sends: UnitMessage[][] = [];
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let record: RevisionRecord | undefined;
  const ledger = {
    createPending: async (r: RevisionRecord) => {
      record = r;
      log.push('createPending');
    },
    openSegment: async (_revision: string, segment: number) => void log.push(`open ${segment}`),
    finishWriting: async (_revision: string, info: { segments: number }) => {
      log.push(`finish ${info.segments}`);
      return { ...(record as RevisionRecord), segments: info.segments };
    },
    get: async () => record,
  } as unknown as Ledger;
  const deps: WriterDeps = {
    ledger,
    vaults: { get: async () => vault } as unknown as VaultStore,
    slices: { put: () => gate } as unknown as SliceStore,
    multicast: {
      send: async (_address, messages) => {
        sends.push(messages);
        log.push(`send ${messages.map((m) => m.segment).join('+')}`);
      },
      statuses: async () => {},
      nudge: async () => {},
    },
    index: {} as ObjectIndex,
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };
  return { deps, log, sends, release };
}

async function* chunks(total: number) {
  for (let sent = 0; sent < total; sent += 256 * 1024) yield new Uint8Array(256 * 1024);
}

test('segments placed together share one publish; each segment is opened before it is sent', async () => {
  // Prepare: two segments whose slices are all in flight at once.
  const { deps, log, sends, release } = recordingWriter();

  // Act
  const writing = writeObject(deps, 'default', 'two/segments', chunks(2 * MiB), { waitMs: 0 });
  await new Promise((r) => setImmediate(r));
  release();
  const outcome = await writing;

  // Assess
  assert.equal(outcome.state, 'pending');
  assert.deepEqual(
    sends.map((batch) => batch.map((m) => m.segment)),
    [[0, 1]],
  );
  assert.deepEqual([...log].sort(), ['createPending', 'finish 2', 'open 0', 'open 1', 'send 0+1']);
  assert.ok(log.indexOf('open 1') < log.indexOf('send 0+1'));
});

test('a committed write is visible once the index points at it, before its other tasks are marked done', async () => {
  // Prepare: the ledger says committed with tasks still running; the index says what it says.
  const revision = '00mwzq0jzn82050b176c0d6f34';
  const committed = {
    revision,
    vault: 'default',
    key: 'k',
    state: 'committed',
    tasksDone: false,
    size: 3,
    sha256: 'abc',
    failedUnits: [],
  } as unknown as RevisionRecord;
  const deps = (indexed: string | undefined) => ({
    ledger: { get: async () => committed } as unknown as Ledger,
    index: {
      get: async () => (indexed ? { revision: indexed } : undefined),
    } as unknown as ObjectIndex,
    clock: systemClock,
  });

  // Act
  const ours = await waitForOutcome(deps(revision), 'k', revision, 1_000);
  const newer = await waitForOutcome(deps(`${revision}z`), 'k', revision, 1_000);
  const older = await waitForOutcome(deps('00mwzq0000'), 'k', revision, 30);

  // Assess: ours or a newer revision there means visible; an older one means not yet.
  assert.equal(ours.state, 'committed');
  assert.equal(newer.state, 'committed');
  assert.equal(older.state, 'pending');
});
