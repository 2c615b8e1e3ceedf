import type { Clock, TimerHandle } from '../../../src/core/clock.js';

/**
 * The one fake clock for every test of timing logic: it moves only when told, so no test
 * waits for real time to pass. Timers fall due in time order (ties in the order they were
 * set), and now() reads each timer's moment while it runs.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; delay: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), delay: ms, fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /**
   * Moves time forward by `ms`, firing due timers; `settle` runs after each one and at the
   * end, so network or promise reactions to a timer happen "at" its moment.
   */
  async advance(ms: number, settle: () => Promise<void> = async () => undefined): Promise<void> {
    const end = this.current + ms;
    for (let next = this.takeDue(end); next !== undefined; next = this.takeDue(end)) {
      next();
      await settle();
    }
    this.current = end;
    await settle();
  }

  /** The same as `advance` for code whose timers react synchronously: no settling between them. */
  advanceSync(ms: number): void {
    const end = this.current + ms;
    for (let next = this.takeDue(end); next !== undefined; next = this.takeDue(end)) next();
    this.current = end;
  }

  /**
   * A machine suspended for `ms`: the wall clock jumps, but timers (which run on the
   * monotonic clock, stopped during suspend) fall due that much later than planned.
   */
  sleep(ms: number): void {
    this.current += ms;
    for (const timer of this.timers.values()) timer.at += ms;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Delays of the timers still pending, in the order they were set. */
  pendingDelays(): number[] {
    return [...this.timers.values()].map((t) => t.delay);
  }

  /** Removes the earliest timer due by `end`, moves now() to its moment, and returns its function. */
  private takeDue(end: number): (() => void) | undefined {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) {
      if (entry[1].at > end) continue;
      if (best === undefined || entry[1].at < best[1].at || (entry[1].at === best[1].at && entry[0] < best[0])) best = entry;
    }
    if (best === undefined) return undefined;
    this.timers.delete(best[0]);
    this.current = Math.max(this.current, best[1].at);
    return best[1].fn;
  }
}
