/** Adding, listing, showing and cancelling work items; bad input is a 400 naming the field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  InvalidParameterError,
  statusOf,
  VaultNotFoundError,
  WorkItemStateError,
  WriteThresholdNotMetError,
} from '../../../shared/errors.ts';
import { addWork, cancelWork, getWork, listWork, runNext } from '../../../shared/work/index.ts';
import { workWorld } from './world.ts';

async function refusal(promise: Promise<unknown>): Promise<InvalidParameterError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof InvalidParameterError, String(err));
    assert.equal(statusOf(err), 400);
    return err;
  }
  assert.fail('expected an InvalidParameterError');
}

describe('the work list', () => {
  const bad: Array<[string, unknown, string, RegExp]> = [
    [
      'an unknown op',
      { op: 'mine-bitcoin', args: {} },
      'op',
      /must be one of digest, compress, decompress, grep, concat/,
    ],
    [
      'a missing arg',
      { op: 'compress', args: { key: 'a', codec: 'gzip' } },
      'args.output',
      /must be an object key/,
    ],
    [
      'a mistyped arg',
      { op: 'digest', args: { prefix: 7 } },
      'args.prefix',
      /must be a key prefix/,
    ],
    [
      'an unknown codec',
      { op: 'compress', args: { key: 'a', output: 'b', codec: 'lz4' } },
      'args.codec',
      /must be one of "gzip", "zstd"/,
    ],
    [
      'an unknown arg',
      { op: 'concat', args: { prefix: '', output: 'o', extra: 1 } },
      'args.extra',
      /is not a concat arg/,
    ],
    [
      'a pattern that does not compile',
      { op: 'grep', args: { prefix: '', pattern: '(' } },
      'args.pattern',
      /does not compile/,
    ],
    [
      'bad grep flags',
      { op: 'grep', args: { prefix: '', pattern: 'a', flags: 'gg' } },
      'args.flags',
      /distinct flags/,
    ],
    [
      'an after naming an unknown item',
      { op: 'digest', args: { prefix: '' }, after: ['w000000000099'] },
      'after[0]',
      /names no work item/,
    ],
    [
      'an after that is no id',
      { op: 'digest', args: { prefix: '' }, after: ['nope'] },
      'after[0]',
      /names no work item/,
    ],
    [
      'an unknown field',
      { op: 'digest', args: { prefix: '' }, priority: 1 },
      'priority',
      /is not a work item field/,
    ],
  ];
  for (const [what, body, field, rule] of bad) {
    test(`adding an item with ${what} is refused, naming ${field}`, async () => {
      const w = workWorld();
      const err = await refusal(addWork(w.list, 'jobs', body));
      assert.equal(err.field, field);
      assert.match(err.rule, rule);
      assert.equal((await listWork(w.list, 'jobs', {})).items.length, 0, 'nothing was added');
    });
  }

  for (const limit of ['0', '1001', '-1', 'ten']) {
    test(`a listing limit of ${limit} is refused`, async () => {
      const w = workWorld();
      const err = await refusal(listWork(w.list, 'jobs', { limit }));
      assert.equal(err.field, 'limit');
    });
  }

  test('an add below the ownership threshold (units down) is refused, and leaves no slice behind', async () => {
    // Prepare: two of six units down; the threshold is five.
    const w = workWorld();
    w.store.failing.add(0);
    w.store.failing.add(1);

    // Act
    await assert.rejects(
      addWork(w.list, 'jobs', { op: 'count', args: {} }),
      (err: Error) =>
        err instanceof WriteThresholdNotMetError &&
        /function slices stored at 4 units, 5 needed/.test(err.message),
    );

    // Assess: the four units that took a slice hold none now, and no record was made.
    w.store.failing.clear();
    for (const unit of w.vault.units)
      assert.deepEqual((await w.store.listSlices('jobs', unit, { limit: 10 })).seqs, [], `${unit}`);
    assert.deepEqual((await w.store.list('jobs', { states: ['queued'], limit: 10 })).items, []);
  });

  test('an unknown vault is a VaultNotFoundError', async () => {
    const w = workWorld();
    await assert.rejects(
      addWork(w.list, 'nope', { op: 'digest', args: { prefix: '' } }),
      VaultNotFoundError,
    );
  });

  test('the list pages in seq order, by state, with a cursor', async () => {
    // Prepare
    const w = workWorld();
    for (let i = 0; i < 5; i++) await addWork(w.list, 'jobs', { op: 'count', args: {} });
    await runNext(w.worker('a'), 'jobs');

    // Act
    const first = await listWork(w.list, 'jobs', { limit: '2' });
    const rest = await listWork(w.list, 'jobs', { limit: '10', cursor: first.cursor });
    const queued = await listWork(w.list, 'jobs', { state: 'queued' });

    // Assess
    assert.deepEqual(
      first.items.map((i) => i.seq),
      [1, 2],
    );
    assert.equal(first.cursor, '2');
    assert.deepEqual(
      rest.items.map((i) => i.seq),
      [3, 4, 5],
    );
    assert.equal(rest.cursor, undefined);
    assert.deepEqual(
      queued.items.map((i) => i.seq),
      [2, 3, 4, 5],
    );
  });

  test('a queued item can be cancelled, then nobody runs it; a done one cannot (409)', async () => {
    // Prepare
    const w = workWorld();
    const first = await addWork(w.list, 'jobs', { op: 'count', args: {} });
    const second = await addWork(w.list, 'jobs', { op: 'count', args: {} });
    await runNext(w.worker('a'), 'jobs');

    // Act
    await cancelWork(w.list, 'jobs', second.id);
    const step = await runNext(w.worker('a'), 'jobs');

    // Assess
    assert.equal((await getWork(w.list, 'jobs', second.id)).state, 'cancelled');
    assert.equal(step.ran, undefined);
    await assert.rejects(cancelWork(w.list, 'jobs', first.id), (err) => {
      assert.ok(err instanceof WorkItemStateError);
      assert.equal(statusOf(err), 409);
      return true;
    });
  });
});
