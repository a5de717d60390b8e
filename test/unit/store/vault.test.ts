import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError, VaultNotFoundError } from '../../../shared/errors.ts';
import {
  planVault,
  unitSubscriptions,
  validateVaultName,
  vaultAddress,
} from '../../../shared/store/vault.ts';
import { CachingVaultStore, vaultSubscriptionView } from '../../../shared/store/vault-catalog.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryVaultStore } from '../../helpers/memory/index.ts';

const now = new Date('2026-11-24T00:00:00Z');

test('a valid request becomes a vault on the least used units, with its multicast address', () => {
  // Act
  const vault = planVault(
    { name: 'photos', width: 3, readThreshold: 2, writeThreshold: 2 },
    8,
    [1, 1, 0, 1, 0, 0, 1, 1],
    now,
  );

  // Assess
  assert.deepEqual(vault, {
    name: 'photos',
    width: 3,
    readThreshold: 2,
    writeThreshold: 2,
    segmentSize: 8 * 1024 * 1024,
    units: [2, 4, 5],
    address: 'vault/photos',
    createdAt: '2026-11-24T00:00:00.000Z',
  });
});

test('explicit units are kept in pillar order', () => {
  const vault = planVault(
    { name: 'abc', width: 2, readThreshold: 1, writeThreshold: 2, units: [7, 0] },
    8,
    [],
    now,
  );
  assert.deepEqual(vault.units, [7, 0]);
});

test('every invalid parameter is refused with the field and the rule', () => {
  const ok = { name: 'good', width: 6, readThreshold: 4, writeThreshold: 5 };
  const cases: Array<[unknown, string, RegExp]> = [
    [[], 'body', /JSON object/],
    [{ ...ok, name: 'Bad_Name' }, 'name', /lowercase letters/],
    [{ ...ok, name: 'ab' }, 'name', /3-63/],
    [{ ...ok, width: 9 }, 'width', /between 1 and 8, got 9/],
    [{ ...ok, width: 2.5 }, 'width', /integer/],
    [{ ...ok, width: '6' }, 'width', /integer, got "6"/],
    [{ ...ok, readThreshold: 7 }, 'readThreshold', /between 1 and 6, got 7/],
    [{ ...ok, writeThreshold: 3 }, 'writeThreshold', /between 4 and 6, got 3/],
    [{ ...ok, segmentSize: 4096 }, 'segmentSize', /between 65536/],
    [{ ...ok, units: [0, 1] }, 'units', /exactly width \(6\)/],
    [{ ...ok, units: [0, 1, 2, 3, 4, 4] }, 'units', /must not repeat/],
    [{ ...ok, units: [0, 1, 2, 3, 4, 8] }, 'units[5]', /between 0 and 7/],
    [{ ...ok, colour: 'red' }, 'colour', /is not a vault field/],
    [{ ...ok, units: 'all' }, 'units', /must be a list of unit indices, got "all"/],
    [{ ...ok, units: [0, 1, 2, 3, 4, '5'] }, 'units[5]', /integer, got "5"/],
    [{ ...ok, segmentSize: 2 ** 60 }, 'segmentSize', /between 65536 and 67108864/],
    [{ ...ok, name: { toString: null } }, 'name', /3-63 .*, got \{"toString":null\}$/],
    [{ ...ok, width: { toString: null } }, 'width', /integer, got \{"toString":null\}$/],
    [null, 'body', /JSON object, got null/],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(
      () => planVault(body, 8, [], now),
      (err: Error) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.message),
      `${field}: ${JSON.stringify(body)}`,
    );
  }
});

test('a misspelt field is refused by its name, not as the field it meant being missing', () => {
  const body = { name: 'good', widht: 6, readThreshold: 4, writeThreshold: 5 };
  assert.throws(
    () => planVault(body, 8, [], now),
    (err: Error) =>
      err instanceof InvalidParameterError &&
      err.field === 'widht' &&
      err.message ===
        'widht: is not a vault field (known: name, width, readThreshold, writeThreshold, segmentSize, units)',
  );
});

test('a vault wider than 32 units, or whose segments in flight outgrow the functions, is refused with the numbers', () => {
  // Prepare: 1 GiB functions spare 512 MiB for segments.
  const GiB = 1024 * 1024 * 1024;
  const wide = { name: 'wide', width: 33, readThreshold: 1, writeThreshold: 1 };
  const greedy = {
    name: 'greedy',
    width: 8,
    readThreshold: 1,
    writeThreshold: 1,
    segmentSize: 64 * 1024 * 1024,
  };

  // Act and assess: k = 1, n = 8, 64 MiB segments hold 1728 MiB in flight.
  assert.throws(
    () => planVault(wide, 40, [], now, GiB),
    (err: Error) =>
      err instanceof InvalidParameterError && /^width: must be between 1 and 32/.test(err.message),
  );
  assert.throws(
    () => planVault(greedy, 8, [], now, GiB),
    (err: Error) =>
      err instanceof InvalidParameterError &&
      err.field === 'segmentSize' &&
      /need 1728 MiB .* over the 512 MiB .* use segments of at most 19884107 bytes/.test(
        err.message,
      ),
  );
  // With k = 4, 64 MiB segments need 576 MiB (too much for 1 GiB functions), 8 MiB ones fit,
  // and 4 GiB functions take the 64 MiB ones.
  assert.equal(
    planVault(
      { ...greedy, readThreshold: 4, writeThreshold: 6, segmentSize: 8 * 1024 * 1024 },
      8,
      [],
      now,
      GiB,
    ).width,
    8,
  );
  assert.equal(
    planVault({ ...greedy, readThreshold: 4, writeThreshold: 6 }, 8, [], now, 4 * GiB).segmentSize,
    64 * 1024 * 1024,
  );
});

test('a vault name is checked wherever it is given, under the name of that field', () => {
  assert.equal(validateVaultName('photos-2026'), 'photos-2026');
  for (const name of ['-ab', 'ab-', 'a', 'x'.repeat(64), 'Photos', 7, undefined]) {
    assert.throws(
      () => validateVaultName(name, 'vault'),
      (err: Error) =>
        err instanceof InvalidParameterError &&
        err.field === 'vault' &&
        err.message.startsWith(
          'vault: must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit, got ',
        ),
      String(name),
    );
  }
});

test('a unit subscribes to its own address and those of the vaults it serves', () => {
  const a = planVault(
    { name: 'aaa', width: 2, readThreshold: 1, writeThreshold: 1, units: [0, 1] },
    4,
    [],
    now,
  );
  const b = planVault(
    { name: 'bbb', width: 2, readThreshold: 1, writeThreshold: 1, units: [1, 2] },
    4,
    [],
    now,
  );
  assert.deepEqual(unitSubscriptions(1, [a, b]), [
    'unit/1',
    vaultAddress('aaa'),
    vaultAddress('bbb'),
  ]);
  assert.deepEqual(unitSubscriptions(3, [a, b]), ['unit/3']);
});

test('a unit subscription view shares reads among callers, keeps no failed read, and refreshes at most once a second without dropping a new vault', async () => {
  // Prepare: a store whose list is counted, and fails on the first call.
  const vault = planVault(
    { name: 'shared', width: 3, readThreshold: 2, writeThreshold: 2 },
    8,
    [],
    new Date(),
  );
  let lists = 0;
  class ThrottledOnce extends MemoryVaultStore {
    override async list() {
      lists++;
      if (lists === 1) throw new Error('throttled');
      return super.list();
    }
  }
  const store = new ThrottledOnce([vault]);
  const clock = new ManualClock();
  const view = vaultSubscriptionView(store, vault.units[0] as number, { clock });

  // Act and assess: the failed read reaches its callers and is dropped; ten callers at once
  // then share one read.
  await assert.rejects(view.addresses(), /throttled/);
  const all = await Promise.all(Array.from({ length: 10 }, () => view.addresses()));
  assert.equal(lists, 2);
  for (const addresses of all) assert.ok(addresses.has(vault.address));
  // Refreshes within a second of that read wait for the second to pass, then share one read
  // that sees a vault created meanwhile.
  const newer = planVault(
    { name: 'newer', width: 3, readThreshold: 2, writeThreshold: 2, units: vault.units },
    8,
    [],
    new Date(),
  );
  await store.create(newer);
  clock.advance(400);
  const refreshes = Array.from({ length: 5 }, () => view.addresses({ refresh: true }));
  await new Promise((r) => setImmediate(r));
  assert.equal(lists, 2, 'no read before the second has passed');
  clock.advance(600);
  for (const addresses of await Promise.all(refreshes)) assert.ok(addresses.has(newer.address));
  assert.equal(lists, 3);
});

test('a caching vault store reads a vault at most once a second (its topology may change), shares reads in flight, and keeps no miss', async () => {
  // Prepare
  const clock = new ManualClock();
  let gets = 0;
  class CountingStore extends MemoryVaultStore {
    override async get(name: string) {
      gets++;
      return super.get(name);
    }
  }
  const backing = new CountingStore();
  const cached = new CachingVaultStore(backing, { clock, ttlMs: 30_000 });
  const vault = planVault(
    { name: 'photos', width: 2, readThreshold: 1, writeThreshold: 1 },
    4,
    [],
    now,
  );

  // Act and assess: a miss is not kept, so a vault created since is found.
  await assert.rejects(cached.get('photos'), VaultNotFoundError);
  await backing.create(vault);
  const [a, b] = await Promise.all([cached.get('photos'), cached.get('photos')]);
  assert.deepEqual(a, vault);
  assert.deepEqual(b, vault);
  assert.equal(gets, 2);
  clock.advance(999);
  await cached.get('photos');
  assert.equal(gets, 2);
  clock.advance(1);
  await cached.get('photos');
  assert.equal(gets, 3);
  await cached.get('photos', { fresh: true });
  assert.equal(gets, 4, 'a fresh read goes past the cache');
  await cached.get('photos');
  assert.equal(gets, 4, 'and is kept for the next');
});
