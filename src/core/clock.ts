/**
 * Time as discovery sees it. Injected so the timing logic (announce spacing, re-query at 80 %
 * of a record's TTL, expiry) can be tested by advancing a fake clock instead of sleeping.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque to callers; the system clock uses Node's Timeout, a fake clock whatever it likes. */
export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout | number;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    // Discovery's timers must never keep a daemon (or a test) alive on their own.
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** One re-armable timer: `set` replaces any pending run, so callers never leak handles. */
export class Timer {
  private handle: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  set(ms: number): void {
    this.clear();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      this.fn();
    }, Math.max(0, ms));
  }

  clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  get pending(): boolean {
    return this.handle !== undefined;
  }
}
