/**
 * A bytes-per-second budget (a token bucket holding at most one second of budget), so that a
 * rebuild does not starve the units' foreground traffic.
 */
import { type Clock, systemClock } from '../clock.ts';

export class Throttle {
  private readonly rate: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  /** `bytesPerSecond` 0 means no limit. */
  constructor(bytesPerSecond: number, clock: Clock = systemClock) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) {
      throw new RangeError(`bytesPerSecond must be >= 0, got ${bytesPerSecond}`);
    }
    this.rate = bytesPerSecond;
    this.clock = clock;
    this.tokens = bytesPerSecond;
    this.last = clock.now();
  }

  /** Waits until `bytes` fit the budget, then spends them. A request above one second's budget waits its share. */
  async take(bytes: number): Promise<void> {
    if (this.rate === 0 || bytes <= 0) return;
    const now = this.clock.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= bytes;
    // A debt is paid by waiting; the refill on the next call counts the time waited.
    if (this.tokens < 0) await this.clock.sleep(Math.ceil((-this.tokens * 1000) / this.rate));
  }
}
