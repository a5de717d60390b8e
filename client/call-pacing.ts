/**
 * The pace of the client-side paths' calls (uplink.ts, downlink.ts): an abortable wait, a bound
 * on calls at once, and the API calls made again while the API is busy.
 */

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });

/** At most `n` calls of the returned function run at once. */
export function limiter(n: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** API calls tried at most this often when the gateway or a function is busy. */
export const CALL_ATTEMPTS = 4;

/**
 * Every dispersal call is idempotent, so one the gateway gave up on (its 30 s, a busy
 * function: 5xx without a domain code, or 429) is made again; a domain answer is final.
 */
export async function retried<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await call();
    } catch (err) {
      const { status, code } = err as { status?: unknown; code?: unknown };
      const busy = typeof status === 'number' && (status === 429 || (status >= 500 && code === ''));
      if (!busy || attempt >= CALL_ATTEMPTS) throw err;
      await sleep(200 * 2 ** attempt, signal);
    }
  }
}
