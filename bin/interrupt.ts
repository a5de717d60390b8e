/**
 * How commands hear Ctrl-C and SIGTERM: `dsn put` as an abort it can clean up after, then say
 * what it left; others have what they leave (a partial file) undone as the process exits.
 */

/**
 * Runs `fn` with SIGINT and SIGTERM turned into its signal's abort, so it can say what it left
 * (a second signal exits at once); bin/dsn.ts's handlers, which exit at once, are put back after.
 */
export async function interruptible<T>(fn: (interrupted: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const outer = signals.map((signal) => process.listeners(signal));
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  for (const signal of signals) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
  try {
    return await fn(interrupt.signal);
  } finally {
    signals.forEach((signal, i) => {
      process.off(signal, onSignal);
      for (const listener of outer[i] ?? []) process.on(signal, listener);
    });
  }
}

/** What a command leaves behind if it is stopped outright (a partial file), undone at exit. */
const onExit = new Set<() => void>();

/** What a command stopped outright has left going, said at exit; the latest said wins. */
const sayings: string[] = [];

/**
 * Has `text` said (after `dsn: interrupted: `) should Ctrl-C or SIGTERM end the command outright
 * now: what it has set going that goes on without it (a write the API took commits on its own).
 * Returns what takes it back, once that no longer holds.
 */
export function sayOnInterrupt(text: string): () => void {
  sayings.push(text);
  return () => {
    const at = sayings.lastIndexOf(text);
    if (at !== -1) sayings.splice(at, 1);
  };
}

/** What an interrupt now says of the command: `interrupted`, and what it left going, if any. */
export function interruptedMessage(): string {
  const said = sayings.at(-1);
  return said === undefined ? 'interrupted' : `interrupted: ${said}`;
}

/**
 * Has `undo` (synchronous: the process is about to exit) run should Ctrl-C or SIGTERM end the
 * command outright (bin/dsn.ts); returns what forgets it, once the command no longer needs it.
 */
export function undoOnInterrupt(undo: () => void): () => void {
  onExit.add(undo);
  return () => onExit.delete(undo);
}

/** Runs what `undoOnInterrupt` asked for: bin/dsn.ts's handlers, before they exit. */
export function undoAll(): void {
  for (const undo of onExit) {
    try {
      undo();
    } catch {
      // Exiting anyway: what could not be undone stays.
    }
  }
  onExit.clear();
}
