/**
 * A read held for a while: the answer for a key is kept for `ms` from the moment its read
 * began, so every ask meanwhile shares that one read (the ones made while it is still under
 * way included). A read that fails is not kept, nor an answer `keep` turns down; the next ask
 * reads again. `fresh` reads again now, and the new read is the one held.
 *
 * Holding from the start of the read, not its end, errs on the side of reading again: an
 * answer is never older than `ms` when it is handed out.
 */
export interface HeldReadOptions<V> {
  now: () => number;
  ms: number;
  /** Whether an answer may be held (a freeze mark found, a job no longer running: no). */
  keep?: (value: V) => boolean;
}

export type HeldRead<K, V> = (key: K, options?: { fresh?: boolean }) => Promise<V>;

export function heldReads<K, V>(
  read: (key: K) => Promise<V>,
  options: HeldReadOptions<V>,
): HeldRead<K, V> {
  const held = new Map<K, { until: number; value: Promise<V> }>();
  const drop = (key: K, value: Promise<V>) => {
    if (held.get(key)?.value === value) held.delete(key);
  };
  return (key, ask) => {
    const now = options.now();
    const h = held.get(key);
    if (h && h.until > now && !ask?.fresh) return h.value;
    const value = read(key);
    held.set(key, { until: now + options.ms, value });
    value.then(
      (v) => {
        if (options.keep && !options.keep(v)) drop(key, value);
      },
      () => drop(key, value),
    );
    return value;
  };
}
