import type { Clock } from '../../shared/clock.ts';

/** A clock the test moves: `sleep` resolves once `advance` has passed its deadline. */
export class ManualClock implements Clock {
  private at: number;
  private readonly sleepers: Array<{ until: number; wake: () => void }> = [];

  constructor(start = Date.parse('2026-12-01T00:00:00Z')) {
    this.at = start;
  }

  now(): number {
    return this.at;
  }

  date(): Date {
    return new Date(this.at);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ until: this.at + ms, wake }));
  }

  /** How many sleeps wait for `advance`. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Moves time on by `ms`, waking every sleeper whose time has come. */
  advance(ms: number): void {
    this.at += ms;
    for (let i = this.sleepers.length - 1; i >= 0; i--) {
      const sleeper = this.sleepers[i] as { until: number; wake: () => void };
      if (sleeper.until <= this.at) {
        this.sleepers.splice(i, 1);
        sleeper.wake();
      }
    }
  }
}
