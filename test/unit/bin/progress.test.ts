import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { lazyBar, progressDelayMs } from '../../../bin/progress.ts';

/** A stream that records what is drawn on it; a terminal when `tty` is set. */
function screen(tty: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number };
  stream.isTTY = tty;
  stream.columns = 120;
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const BAR = /\u2588|\u2591/;

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] }));
afterEach(() => mock.timers.reset());

test('on a terminal the bar appears only once the work has lasted the delay', () => {
  // Prepare
  const out = screen(true);
  const bar = lazyBar({ stream: out.stream, label: 'put', total: 100, unit: 'count' });

  // Act: just short of the default second, then past it.
  bar.update(10, 'uploading');
  mock.timers.tick(999);
  const before = out.text();
  mock.timers.tick(1);
  const after = out.text();
  bar.update(100, 'committing');
  bar.stop();

  // Assess
  assert.equal(before, '', 'nothing is drawn before the delay');
  assert.match(after, BAR);
  assert.match(after, /put \|.*\| 10% 10\/100 +uploading/);
  assert.match(out.text(), /100% 100\/100 +committing/, 'stop draws the last state');
});

test('work that ends before the delay draws nothing, ever', () => {
  const out = screen(true);
  const bar = lazyBar({ stream: out.stream, label: 'get', total: 5, unit: 'bytes', delayMs: 200 });

  bar.update(5);
  mock.timers.tick(199);
  bar.stop();
  mock.timers.tick(10_000);

  assert.equal(out.text(), '');
});

test('a stream that is not a terminal never gets a bar, even with no delay', () => {
  const out = screen(false);
  const bar = lazyBar({ stream: out.stream, label: 'get', total: 5, unit: 'bytes', delayMs: 0 });

  mock.timers.tick(5_000);
  bar.update(3);
  bar.stop();

  assert.equal(out.text(), '');
});

test('DSN_PROGRESS_DELAY_MS sets the delay; a value that is not a whole number of ms leaves the default', () => {
  const saved = process.env.DSN_PROGRESS_DELAY_MS;
  const delayFor = (raw: string | undefined) => {
    if (raw === undefined) delete process.env.DSN_PROGRESS_DELAY_MS;
    else process.env.DSN_PROGRESS_DELAY_MS = raw;
    return progressDelayMs();
  };
  try {
    assert.equal(delayFor(undefined), 1000);
    assert.equal(delayFor('0'), 0);
    assert.equal(delayFor('250'), 250);
    assert.equal(delayFor(''), 1000);
    assert.equal(delayFor('-5'), 1000);
    assert.equal(delayFor('1.5'), 1000);
    assert.equal(delayFor('soon'), 1000);
  } finally {
    delayFor(saved);
  }
});
