/**
 * How many inbound pairing requests may start, over time: a token bucket. The cap on open
 * requests alone does not slow a man in the middle who opens a request, reads its code and
 * drops it to try again (each try is a fresh one-in-a-million chance at matching the code
 * the other victim sees); this does. Time is injected so the refill is tested without waiting.
 */
export class RequestBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    /** One more request is allowed per this many ms, up to `capacity`. */
    private readonly refillMs: number,
    private readonly clock: { now(): number },
  ) {
    this.tokens = capacity;
    this.last = clock.now();
  }

  /** Spends one request if there is one; false when the budget is used up. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next request is allowed (0 when one is now). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * this.refillMs);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, now - this.last) / this.refillMs);
    this.last = now;
  }
}
