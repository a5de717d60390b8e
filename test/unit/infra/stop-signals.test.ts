import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mock, test } from 'node:test';
import { handleStopSignals, type StopSignal } from '../../../infra/local/stop-signals.ts';

/** The process as the handler sees it: signals in; stops, exits and the clock recorded. */
function world(stopTakes: Promise<number>) {
  const target = new EventEmitter();
  const events: string[] = [];
  let clock = 0;
  handleStopSignals(target, {
    stop: (signal) => {
      events.push(`stop ${signal}`);
      return stopTakes;
    },
    exitNow: ({ signal, again }) => events.push(`exit now ${signal}${again ? ' again' : ''}`),
    exit: (code) => events.push(`exit ${code}`),
    limitMs: 4500,
    duplicateWindowMs: 300,
    now: () => clock,
  });
  return {
    events,
    signal: (signal: StopSignal, at: number) => {
      clock = at;
      target.emit(signal, signal);
    },
  };
}

test('the first signal stops the cloud once and exits with the code the stop gives', async () => {
  // Act
  const w = world(Promise.resolve(0));
  w.signal('SIGTERM', 0);
  await new Promise((resolve) => setImmediate(resolve));

  // Assess
  assert.deepEqual(w.events, ['stop SIGTERM', 'exit 0']);
});

test('a second signal during the stop exits at once, unless it is the first delivered twice', () => {
  // Prepare: a stop that does not end by itself.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const w = world(new Promise<number>(() => {}));

    // Act: npm's forwarded copy 5 ms later, then a second Ctrl-C a second later.
    w.signal('SIGINT', 0);
    w.signal('SIGINT', 5);
    const afterDuplicate = [...w.events];
    w.signal('SIGINT', 1000);
    w.signal('SIGINT', 1100);

    // Assess
    assert.deepEqual(afterDuplicate, ['stop SIGINT']);
    assert.deepEqual(w.events, ['stop SIGINT', 'exit now SIGINT again']);
  } finally {
    mock.timers.reset();
  }
});

test('another kind of signal is never taken for a duplicate: SIGTERM then SIGINT exits at once', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    // Act
    const w = world(new Promise<number>(() => {}));
    w.signal('SIGTERM', 0);
    w.signal('SIGINT', 1);

    // Assess
    assert.deepEqual(w.events, ['stop SIGTERM', 'exit now SIGINT again']);
  } finally {
    mock.timers.reset();
  }
});

test('a stop that overruns its limit is abandoned: the process exits anyway', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    // Prepare
    const w = world(new Promise<number>(() => {}));
    w.signal('SIGTERM', 0);

    // Act
    mock.timers.tick(4499);
    const before = [...w.events];
    mock.timers.tick(1);

    // Assess
    assert.deepEqual(before, ['stop SIGTERM']);
    assert.deepEqual(w.events, ['stop SIGTERM', 'exit now SIGTERM']);
  } finally {
    mock.timers.reset();
  }
});
