import { useCallback, useEffect, useState } from 'preact/hooks';

/**
 * Loads `load()` now and every `everyMs` while the view is shown, and on `refresh()`; keeps the
 * last answer and the last error (shown, never thrown).
 */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    const run = () =>
      load().then(
        (d) => {
          if (live) {
            setData(d);
            setError(undefined);
          }
        },
        (e: unknown) => {
          if (live) setError(e instanceof Error ? e.message : String(e));
        },
      );
    void run();
    const timer = everyMs > 0 ? setInterval(run, everyMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick]);
  return { data, error, refresh };
}
