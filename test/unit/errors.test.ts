import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeError, type ErrorDescription, stringOf } from '../../shared/describe-error.ts';
import {
  DsnError,
  InvalidParameterError,
  InvalidSliceError,
  ObjectNotFoundError,
  RebuildNotFoundError,
  RevisionNotFoundError,
  RouteNotFoundError,
  SegmentLostError,
  statusOf,
  UploadStateError,
  VaultExistsError,
  WriteThresholdNotMetError,
} from '../../shared/errors.ts';

test('a cause chain is described link by link, with each link its name and message', () => {
  // Prepare: a domain error caused by an SDK-like error caused by a socket error.
  const socket = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  const sdk = new Error('request failed', { cause: socket });
  sdk.name = 'TimeoutError';
  const err = new WriteThresholdNotMetError('r1', [2, 5], 'units did not answer');
  Object.defineProperty(err, 'cause', { value: sdk });

  // Act
  const d = describeError(err);

  // Assess
  assert.equal(d.name, 'WriteThresholdNotMetError');
  assert.match(d.message, /units that failed: 2, 5/);
  assert.equal(typeof d.stack, 'string');
  assert.equal(d.cause && 'name' in d.cause && d.cause.name, 'TimeoutError');
  const root = (d.cause as ErrorDescription).cause as ErrorDescription;
  assert.deepEqual(
    [root.name, root.message, root.fields],
    ['Error', 'read ECONNRESET', { code: 'ECONNRESET' }],
  );
  assert.equal(root.cause, undefined);
});

test('a DsnError carries its context fields, and not name, message, stack or cause', () => {
  const d = describeError(new SegmentLostError('photos', 'a/b', 3, 2, 4));
  assert.deepEqual(d.fields, { vault: 'photos', key: 'a/b', segment: 3 });

  const p = describeError(new InvalidParameterError('width', 'must be an integer'));
  assert.deepEqual(p.fields, { field: 'width', rule: 'must be an integer' });

  const s = describeError(new InvalidSliceError('corrupt', 'crc mismatch', 'v/o/r/0/1'));
  assert.deepEqual(s.fields, { defect: 'corrupt', sliceName: 'v/o/r/0/1' });
});

test('what is thrown or given as a cause without being an Error is described by its string form', () => {
  assert.deepEqual(describeError('plain string'), { name: 'NonError', message: 'plain string' });
  assert.deepEqual(describeError(undefined), { name: 'NonError', message: 'undefined' });
  const d = describeError(new Error('outer', { cause: 42 }));
  assert.deepEqual(d.cause, { value: '42' });
});

test('values without a usable toString are still described, never a crash', () => {
  // `String()` throws on both of these.
  const noToString = { toString: null };
  const bare = Object.create(null) as object;

  assert.deepEqual(describeError(noToString), {
    name: 'NonError',
    message: '{"toString":null}',
  });
  assert.deepEqual(describeError(new Error('outer', { cause: bare })).cause, { value: '{}' });
  assert.equal(stringOf(Symbol('s')), 'Symbol(s)');
  // Not JSON either (a BigInt): its tag is what is left.
  const both = { toString: null, n: 1n };
  assert.equal(stringOf(both), '[object Object]');
});

test('a cause cycle ends: at most eight causes are followed', () => {
  // Prepare: a -> b -> a -> ...
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  Object.defineProperty(a, 'cause', { value: b });

  // Act
  let d: ErrorDescription | { value: string } | undefined = describeError(a);
  const names: string[] = [];
  while (d && 'message' in d) {
    names.push(d.message);
    d = d.cause;
  }

  // Assess: the root and eight causes, alternating.
  assert.deepEqual(names, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a']);
});

test('each error class an API call can end with has its status, and anything else is a 500', () => {
  const cases: Array<[unknown, number]> = [
    [new InvalidParameterError('width', 'must be an integer'), 400],
    [new ObjectNotFoundError('v', 'k'), 404],
    [new RevisionNotFoundError('v', 'r'), 404],
    [new RebuildNotFoundError('v'), 404],
    [new RouteNotFoundError('GET /nope'), 404],
    [new VaultExistsError('v'), 409],
    [new UploadStateError('u1', 'is committed'), 409],
    [new WriteThresholdNotMetError('r', [], 'x'), 503],
    [new InvalidSliceError('corrupt', 'bad'), 500],
    [new Error('boom'), 500],
    ['thrown string', 500],
  ];
  for (const [err, status] of cases) assert.equal(statusOf(err), status, String(err));
});

test('API codes stay those clients know, whatever the class is called', () => {
  assert.equal(new RevisionNotFoundError('v', 'r').code, 'RevisionNotFound');
  assert.equal(new RevisionNotFoundError('v', 'r').message, 'no such revision in this vault');
  const rebuild = new RebuildNotFoundError('photos');
  assert.equal(rebuild.code, 'RebuildNotFound');
  assert.equal(
    rebuild.message,
    'no rebuild has run on vault "photos"; start one with POST /vaults/photos/rebuild',
  );
  const route = new RouteNotFoundError('DELETE /vaults');
  assert.equal(route.code, 'NotFound');
  assert.equal(route.message, 'no route for DELETE /vaults');
  assert.ok(route instanceof DsnError);
  assert.equal(new VaultExistsError('v').code, 'VaultExists');
  // The code is not a field of the log line: it is derived from the class.
  assert.deepEqual(describeError(route).fields, { routeKey: 'DELETE /vaults' });
});
