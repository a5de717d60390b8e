import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatusMessage } from '../../../shared/store/multicast.ts';
import type { UnitStatus } from '../../../shared/store/revision.ts';

const status = (segment: number, ok = true): UnitStatus => ({
  vault: 'default',
  revision: '00mwzq0jzn82050b176c0d6f34',
  segment,
  pillar: 3,
  unit: 3,
  ok,
});

test('a status message carries every status of one unit invocation', () => {
  const statuses = [status(0), status(1, false)];
  assert.deepEqual(parseStatusMessage(JSON.stringify({ v: 1, statuses })), statuses);
});

test('a bare status, as units sent before they batched, is still one status', () => {
  assert.deepEqual(parseStatusMessage(JSON.stringify(status(4))), [status(4)]);
});

test('a malformed status message is refused naming the field and the rule', () => {
  const bad = (body: unknown, field: RegExp) =>
    assert.throws(() => parseStatusMessage(JSON.stringify(body)), field);
  bad({ v: 1, statuses: [] }, /status\.statuses: must be a non-empty list/);
  bad({ v: 2, statuses: [status(0)] }, /status\.v: unknown message version 2/);
  bad(
    { v: 1, statuses: [status(0), { ...status(1), pillar: 300 }] },
    /status\.statuses\[1\]\.pillar/,
  );
  bad(
    { v: 1, statuses: [{ ...status(0), ok: 'yes' }] },
    /status\.statuses\[0\]\.ok: must be a boolean/,
  );
  bad({ ...status(0), revision: '' }, /status\.revision: must be a non-empty string/);
  assert.throws(() => parseStatusMessage('{'), /status: is not JSON/);
});
