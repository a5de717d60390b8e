/**
 * SIGINT and SIGTERM for `npm start`: the first one stops the cloud gracefully but within a
 * limit; another one, or the limit passing, exits at once. Whoever signals twice has stopped
 * waiting, and a stop that overruns its limit is stuck on something no wait will end.
 *
 * The same signal arriving again within `duplicateWindowMs` is the first one delivered twice,
 * not a second request: Ctrl-C signals the terminal's whole process group, npm (whose child
 * the cloud is under `npm start`) forwards what it gets to its child, and where `sh -c` execs
 * the command (bash does, as on macOS) the cloud receives both, a few milliseconds apart.
 */

export const STOP_LIMIT_MS = 4500;
export const DUPLICATE_WINDOW_MS = 300;

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface StopSignalOptions {
  /** The graceful stop; resolves with the exit code. */
  stop(signal: StopSignal): Promise<number>;
  /** Exits now, the stop unfinished: a second signal, or the limit passed. */
  exitNow(why: { signal: StopSignal; again: boolean }): void;
  /** Exits with the stop's code (process.exit). */
  exit(code: number): void;
  limitMs?: number;
  duplicateWindowMs?: number;
  now?: () => number;
}

/** Listens for the stop signals on `target` (the process). */
export function handleStopSignals(
  target: { on(signal: StopSignal, listener: (signal: StopSignal) => void): unknown },
  opts: StopSignalOptions,
): void {
  const now = opts.now ?? Date.now;
  let first: { signal: StopSignal; at: number } | undefined;
  let exiting = false;
  const exitNow = (signal: StopSignal, again: boolean) => {
    if (exiting) return;
    exiting = true;
    opts.exitNow({ signal, again });
  };
  const onSignal = (signal: StopSignal) => {
    if (first === undefined) {
      first = { signal, at: now() };
      const limit = setTimeout(() => exitNow(signal, false), opts.limitMs ?? STOP_LIMIT_MS);
      opts.stop(signal).then(
        (code) => {
          clearTimeout(limit);
          if (!exiting) opts.exit(code);
        },
        () => exitNow(signal, false),
      );
      return;
    }
    const duplicate =
      signal === first.signal && now() - first.at < (opts.duplicateWindowMs ?? DUPLICATE_WINDOW_MS);
    if (!duplicate) exitNow(signal, true);
  };
  target.on('SIGINT', onSignal);
  target.on('SIGTERM', onSignal);
}
