import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../../shared/clock.ts';
import { formatSliceName, sliceNamesOf } from '../../../shared/codec/index.ts';
import {
  InvalidParameterError,
  ObjectNotFoundError,
  PreconditionFailedError,
  QuarantinedError,
} from '../../../shared/errors.ts';
import type { IndexEntry, SliceDamage } from '../../../shared/store/index.ts';
import {
  openRetrieval,
  type RetrievalDeps,
  reportDamage,
} from '../../../shared/store/retrieval.ts';
import { MemoryObjectIndex } from '../../helpers/memory/index.ts';

const NOW = Date.parse('2026-12-05T04:00:00.000Z');
const clock: Clock = {
  now: () => NOW,
  date: () => new Date(NOW),
  sleep: () => Promise.resolve(),
};

const entry: IndexEntry = {
  vault: 'clips',
  key: 'films/long.bin',
  revision: '00mx9unizm2ad37d40ea2d392b',
  objectId: 'b2JqZWN0LWlkLTAwMDAwMQ',
  size: 5 * 65536 - 7,
  sha256: 'a'.repeat(64),
  segments: 5,
  segmentSize: 65536,
  readThreshold: 4,
  units: [2, 3, 4, 5, 6, 7],
  committedAt: new Date(NOW - 1000).toISOString(),
  scanState: 'clean',
};

/** Retrieval deps over memory ports; the presigner and the repair log record what they got. */
async function world(entries: IndexEntry[] = [entry]) {
  const index = new MemoryObjectIndex();
  for (const e of entries) await index.publish(e);
  const signed: Array<{ unit: number; key: string; ttl: number }> = [];
  const queued: SliceDamage[] = [];
  const deps: RetrievalDeps = {
    index,
    presigner: {
      presignPut: () => Promise.reject(new Error('a retrieval signs no PUT')),
      presignGet: async (unit, key, ttl) => {
        signed.push({ unit, key, ttl });
        return `memory://${unit}/${key}?ttl=${ttl}`;
      },
    },
    repair: { record: async (damage) => void queued.push(...damage) },
    clock,
  };
  return { deps, signed, queued };
}

const open = () => {};

test('a window names every pillar of each of its segments, in its unit, with the revision manifest', async () => {
  // Prepare
  const { deps, signed } = await world();
  const name = sliceNamesOf(entry);

  // Act
  const all = await openRetrieval(deps, 'clips', { key: entry.key }, open);
  const tail = await openRetrieval(
    deps,
    'clips',
    { key: entry.key, revision: entry.revision, first: 3, count: 4, expiresInSeconds: 60 },
    open,
  );

  // Assess: the default window covers the 5 segments; a window past the end is cut to it.
  assert.equal(all.revision, entry.revision);
  assert.deepEqual(
    [all.size, all.segments, all.segmentSize, all.readThreshold, all.sha256],
    [entry.size, 5, 65536, 4, entry.sha256],
  );
  assert.deepEqual(all.units, entry.units);
  assert.deepEqual([all.first, all.count, all.slices.length], [0, 5, 30]);
  assert.equal(all.expiresAt, new Date(NOW + 300_000).toISOString());
  for (const s of all.slices) {
    assert.equal(s.unit, entry.units[s.pillar]);
    assert.equal(s.url, `memory://${s.unit}/${formatSliceName(name(s.segment, s.pillar))}?ttl=300`);
  }
  assert.deepEqual([tail.first, tail.count], [3, 2]);
  assert.deepEqual(
    tail.slices.map((s) => `${s.segment}/${s.pillar}`),
    ['3/0', '3/1', '3/2', '3/3', '3/4', '3/5', '4/0', '4/1', '4/2', '4/3', '4/4', '4/5'],
  );
  assert.equal(tail.expiresAt, new Date(NOW + 60_000).toISOString());
  assert.equal(signed.length, 30 + 12);
  assert.ok(signed.slice(30).every((s) => s.ttl === 60));
});

test('an empty object has a manifest and no slices', async () => {
  const empty = { ...entry, key: 'empty', size: 0, segments: 0 };
  const { deps, signed } = await world([empty]);
  const got = await openRetrieval(deps, 'clips', { key: 'empty' }, open);
  assert.deepEqual([got.size, got.segments, got.count, got.slices.length], [0, 0, 0, 0]);
  assert.equal(signed.length, 0);
});

test('the gate decides before any URL is signed, and a missing key is ObjectNotFound', async () => {
  const { deps, signed } = await world();
  await assert.rejects(
    openRetrieval(deps, 'clips', { key: entry.key }, (e) => {
      throw new QuarantinedError(e.vault, e.key);
    }),
    QuarantinedError,
  );
  await assert.rejects(openRetrieval(deps, 'clips', { key: 'nope' }, open), ObjectNotFoundError);
  await assert.rejects(openRetrieval(deps, 'other', { key: entry.key }, open), ObjectNotFoundError);
  assert.equal(signed.length, 0);
});

test('a window of a revision the key no longer holds is refused, so a read never mixes two', async () => {
  // Prepare: the key moves on to a newer revision.
  const { deps } = await world();
  const newer = { ...entry, revision: '00mx9vvvvv2ad37d40ea2d392b' };
  await deps.index.publish(newer);

  // Act, Assess
  await assert.rejects(
    openRetrieval(deps, 'clips', { key: entry.key, revision: entry.revision, first: 2 }, open),
    (err: Error) =>
      err instanceof PreconditionFailedError &&
      err.message.includes(newer.revision) &&
      err.message.includes(entry.revision),
  );
  const fresh = await openRetrieval(deps, 'clips', { key: entry.key }, open);
  assert.equal(fresh.revision, newer.revision);
});

test('bad windows are refused naming the field and the rule', async () => {
  const { deps, signed } = await world();
  const refused = (body: unknown, field: string, rule: RegExp) =>
    assert.rejects(
      openRetrieval(deps, 'clips', body, open),
      (err: Error) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.rule),
      JSON.stringify(body),
    );
  await refused({ key: entry.key, first: 5 }, 'first', /below the object's 5 segments, got 5/);
  await refused({ key: entry.key, count: 33 }, 'count', /32/);
  await refused({ key: entry.key, count: 0 }, 'count', /1/);
  await refused({ key: entry.key, expiresInSeconds: 3601 }, 'expiresInSeconds', /3600/);
  await refused({ key: entry.key, revision: 'no/slashes' }, 'revision', /letters, digits/);
  await refused({ first: 0 }, 'key', /./);
  await assert.rejects(
    openRetrieval(deps, 'clips', { key: entry.key, extra: true }, open),
    InvalidParameterError,
  );
  assert.equal(signed.length, 0);
});

test("damage a client met is queued with the manifest's units, for the revision the key holds only", async () => {
  // Prepare
  const { deps, queued } = await world();
  const report = {
    key: entry.key,
    revision: entry.revision,
    damage: [
      { segment: 1, pillar: 0, defect: 'missing', detail: 'SliceNotFoundError: no slice' },
      { segment: 4, pillar: 5, defect: 'corrupt', detail: 'crc mismatch' },
    ],
  };

  // Act
  const got = await reportDamage(deps, 'clips', report, open);
  const stale = await reportDamage(
    deps,
    'clips',
    { ...report, revision: '00mx9aaaaa2ad37d40ea2d392b' },
    open,
  );

  // Assess
  assert.deepEqual(got, { recorded: 2 });
  assert.deepEqual(stale, { recorded: 0 });
  assert.deepEqual(
    queued.map((d) => [d.vault, d.key, d.revision, d.segment, d.pillar, d.unit, d.defect, d.at]),
    [
      ['clips', entry.key, entry.revision, 1, 0, 2, 'missing', new Date(NOW).toISOString()],
      ['clips', entry.key, entry.revision, 4, 5, 7, 'corrupt', new Date(NOW).toISOString()],
    ],
  );
  assert.match(queued[1]?.detail ?? '', /^reported by a client's read: crc mismatch$/);
});

test('a damage report outside the revision, or too long, is refused and queues nothing', async () => {
  const { deps, queued } = await world();
  const one = (d: object) => ({ key: entry.key, revision: entry.revision, damage: [d] });
  const refused = (body: unknown, field: string) =>
    assert.rejects(
      reportDamage(deps, 'clips', body, open),
      (err: Error) => err instanceof InvalidParameterError && err.field === field,
      field,
    );
  await refused(one({ segment: 5, pillar: 0, defect: 'missing', detail: '' }), 'damage[0].segment');
  await refused(one({ segment: 0, pillar: 6, defect: 'missing', detail: '' }), 'damage[0].pillar');
  await refused(one({ segment: 0, pillar: 0, defect: 'gone', detail: '' }), 'damage[0].defect');
  await refused({ key: entry.key, revision: entry.revision, damage: [] }, 'damage');
  await refused(
    {
      key: entry.key,
      revision: entry.revision,
      damage: Array.from({ length: 65 }, () => ({
        segment: 0,
        pillar: 0,
        defect: 'missing',
        detail: '',
      })),
    },
    'damage',
  );
  await assert.rejects(
    reportDamage(
      deps,
      'clips',
      one({ segment: 0, pillar: 0, defect: 'missing', detail: '' }),
      () => {
        throw new QuarantinedError('clips', entry.key);
      },
    ),
    QuarantinedError,
  );
  assert.equal(queued.length, 0);
});

test("a client group's edge copies of the window come beside the home slices, and only the opening window counts the read", async () => {
  // Prepare: pillars 0 and 1 of segments 1 and 4 staged at edge units 9 and 10.
  const { deps, signed } = await world();
  const openings: boolean[] = [];
  const placed = new Map([
    [0, { unit: 9, key: 'edge/g/a' }],
    [1, { unit: 10, key: 'edge/g/b' }],
  ]);
  const copies = (revision: string) => async (_entry: IndexEntry, opening: boolean) => {
    openings.push(opening);
    return { revision, placement: (segment: number) => (segment % 3 === 1 ? placed : undefined) };
  };

  // Act
  const first = await openRetrieval(
    deps,
    'clips',
    { key: entry.key, count: 2 },
    open,
    copies(entry.revision),
  );
  const later = await openRetrieval(
    deps,
    'clips',
    { key: entry.key, revision: entry.revision, first: 2 },
    open,
    copies(entry.revision),
  );
  const stale = await openRetrieval(
    deps,
    'clips',
    { key: entry.key },
    open,
    copies('00mx9aaaaa2ad37d40ea2d392b'),
  );

  // Assess
  assert.deepEqual(
    first.edge.map((e) => [e.segment, e.pillar, e.unit, e.url]),
    [
      [1, 0, 9, 'memory://9/edge/g/a?ttl=300'],
      [1, 1, 10, 'memory://10/edge/g/b?ttl=300'],
    ],
  );
  assert.deepEqual(
    later.edge.map((e) => [e.segment, e.pillar]),
    [
      [4, 0],
      [4, 1],
    ],
  );
  assert.deepEqual(stale.edge, []);
  assert.deepEqual(openings, [true, false, true]);
  assert.equal(signed.filter((s) => s.key.startsWith('edge/')).length, 4);
});
