/**
 * The time a flow engine sees. Production uses the system clock; tests inject a simulated clock and move
 * it forward by days in a millisecond, so a 30-day welcome series runs in one test.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved. */
export class SimulatedClock implements Clock {
  private ms: number;
  constructor(start: Date | string) {
    this.ms = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.ms);
  }
  set(at: Date | string): void {
    this.ms = new Date(at).getTime();
  }
  advance(by: { days?: number; hours?: number; minutes?: number; seconds?: number; ms?: number }): Date {
    this.ms +=
      (by.days ?? 0) * 86_400_000 +
      (by.hours ?? 0) * 3_600_000 +
      (by.minutes ?? 0) * 60_000 +
      (by.seconds ?? 0) * 1000 +
      (by.ms ?? 0);
    return this.now();
  }
}
