/**
 * Time, as a port: every system reads the time and waits through a Clock, so leases, timeouts
 * and budgets can be tested with a clock the test moves (`test/helpers/clock.ts`).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** The same instant as a Date. */
  date(): Date;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The machine's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  date: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
