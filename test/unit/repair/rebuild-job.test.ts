import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import {
  etaSeconds,
  newRebuildJob,
  parseRebuildMessage,
  parseRebuildRequest,
  publicJob,
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
