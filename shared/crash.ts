/**
 * How a fault-injection hook dies (tests only: the `DSN_*_CRASH_AT` variables): it says why on
 * stderr, then kills its own process with SIGKILL, as a crash or a lost machine would: no
 * clean-up, no release, nothing flushed. On the local cloud functions run in worker threads of
 * the cloud's own process, so the whole cloud dies.
 */
export function killNow(line: string): never {
  process.stderr.write(`${line}\n`);
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is not delivered synchronously; nothing may run meanwhile.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
}
