/**
 * A hybrid logical clock: wall-clock milliseconds that never go backwards and always move
 * past any timestamp seen from a peer, so "copied later" survives clock skew between
 * machines. The wall clock is injected for tests.
 */
export class HybridClock {
  private last = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  /** A timestamp for a new local event. */
  now(): number {
    this.last = Math.max(this.wallClock(), this.last + 1);
    return this.last;
  }

  /** Takes note of a timestamp from a peer. */
  observe(ts: number): void {
    if (ts > this.last) this.last = ts;
  }
}
