import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import {
  etaSeconds,
  LOST_LISTED,
  LOST_LISTED_BYTES,
  newRebuildJob,
  parseRebuildMessage,
  parseRebuildRequest,
  publicJob,
  roomForLost,
} from '../../../shared/repair/rebuild-job.ts';

test('a rebuild request takes restart and stepSegments, and nothing else', () => {
  assert.deepEqual(parseRebuildRequest(undefined), { restart: false, stepSegments: 0 });
  assert.deepEqual(parseRebuildRequest({ restart: true, stepSegments: 5 }), {
    restart: true,
    stepSegments: 5,
  });
  const cases: Array<[unknown, string, RegExp]> = [
    [[], 'body', /JSON object/],
    [{ restart: 'yes' }, 'restart', /true or false/],
    [{ stepSegments: 1.5 }, 'stepSegments', /integer 0\.\.1000000/],
    [{ stepSegments: -1 }, 'stepSegments', /integer/],
    [{ speed: 1 }, 'speed', /not a rebuild option/],
    [{ stepSegments: 1_000_001 }, 'stepSegments', /0\.\.1000000 \(0: no cap\), got 1000001$/],
    [{ restart: { toString: null } }, 'restart', /true or false, got \{"toString":null\}$/],
    ['go', 'body', /JSON object, got "go"/],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(
      () => parseRebuildRequest(body),
      (err: Error) =>
        err instanceof InvalidParameterError &&
        err.message.startsWith(`${field}:`) &&
        rule.test(err.message),
      JSON.stringify(body),
    );
  }
});

test('a queue message names a vault and a job, or is refused', () => {
  assert.deepEqual(parseRebuildMessage('{"vault":"v1x","id":"j"}'), { vault: 'v1x', id: 'j' });
  assert.throws(() => parseRebuildMessage('nope'), /message: must be JSON/);
  assert.throws(() => parseRebuildMessage('{"vault":"v"}'), /two strings/);
});

test('a rebuild message is refused naming the field: unknown keys, wrong types, odd values', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['', 'message', /^must be JSON \{"vault","id"\}, got ""$/],
    ['"v1x"', 'message', /JSON object, got "v1x"/],
    ['{"vault":"v1x","id":"j","restart":true}', 'message.restart', /not a rebuild message field/],
    ['{"vault":"","id":"j"}', 'message.vault', /non-empty string .*two strings.*, got ""$/],
    ['{"vault":"v1x","id":7}', 'message.id', /two strings.*, got 7$/],
    ['{"vault":{"toString":null},"id":"j"}', 'message.vault', /got \{"toString":null\}$/],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(
      () => parseRebuildMessage(body),
      (err: unknown) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.rule),
      body,
    );
  }
});

test('the ETA follows the scan rate, and is absent before there is one', () => {
  const job = newRebuildJob('v1x', { restart: false, stepSegments: 0 }, new Date(0));
  assert.equal(etaSeconds(job), undefined);
  job.phase = 'scan';
  job.totalSegments = 100;
  job.segmentsScanned = 25;
  job.scanMs = 5000;
  // 75 segments left at 200 ms each.
  assert.equal(etaSeconds(job), 15);
  job.state = 'done';
  assert.equal(etaSeconds(job), 0);
});

test('the public view hides cursors and shows the ETA', () => {
  const job = newRebuildJob('v1x', { restart: false, stepSegments: 0 }, new Date(0));
  job.scanCursor = { key: 'a', revision: 'r', segment: 1 };
  job.countCursor = 'c';
  const shown = publicJob(job) as Record<string, unknown>;
  assert.equal(shown.scanCursor, undefined);
  assert.equal(shown.countCursor, undefined);
  assert.equal(shown.vault, 'v1x');
});

test('a job lists lost segments while they fit its item: a thousand, or 200 KiB of them with long keys', () => {
  const lost = (key: string, segment: number) => ({
    key,
    revision: '00aaaaaaaaaaaaaaaaaaaaaaaa',
    segment,
    good: 1,
  });
  // Short keys: the count is the limit.
  const short: ReturnType<typeof lost>[] = [];
  for (let i = 0; roomForLost(short, lost('k', i)); i++) short.push(lost('k', i));
  assert.equal(short.length, LOST_LISTED);
  // Keys of 1 KiB: the bytes are, far below a thousand, and the whole list stays in one item.
  const long: ReturnType<typeof lost>[] = [];
  const key = 'x'.repeat(1024);
  for (let i = 0; roomForLost(long, lost(key, i)); i++) long.push(lost(key, i));
  assert.ok(long.length > 100 && long.length < 250, `${long.length}`);
  assert.ok(Buffer.byteLength(JSON.stringify(long)) < LOST_LISTED_BYTES + 10 * 1024);
});
