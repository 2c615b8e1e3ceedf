import type { Timers } from '../../../src/protocol/heartbeat.js';

/** A clock that moves only when the test says so; timers fire as it passes them. */
export class ManualTimers implements Timers {
  private time = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = until;
  }
  /**
   * A machine suspended for `ms`: the wall clock jumps, but timers (which run on the
   * monotonic clock, stopped during suspend) fire that much later than planned.
   */
  sleep(ms: number): void {
    this.time += ms;
    for (const timer of this.pending.values()) timer.at += ms;
  }
  get scheduled(): number {
    return this.pending.size;
  }
}
