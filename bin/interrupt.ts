/** How `dsn put` hears Ctrl-C and SIGTERM: as an abort it can clean up after, then say what it left. */

/**
 * Runs `fn` with SIGINT and SIGTERM turned into its signal's abort, so it can say what it left
 * (a second signal exits at once); bin/dsn.ts's handler, which exits at once, is put back after.
 */
export async function interruptible<T>(fn: (interrupted: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  const outer = process.listeners('SIGINT');
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.removeAllListeners('SIGINT');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(interrupt.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const listener of outer) process.on('SIGINT', listener);
  }
}
