/** Retry timing, injected so tests can check schedules without waiting. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** A number in [0, 1): Math.random in production, a fixed sequence in tests. */
  random: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 30_000, random: Math.random };

/**
 * Delay before retry number `attempt` (1 = first retry): exponential, capped, with "equal
 * jitter" (half fixed, half random) so peers that lost the same network at the same moment
 * do not all come back in step.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(ceiling / 2 + policy.random() * (ceiling / 2));
}

/**
 * The attempt number for the redial after a live connection dropped. One that stayed up for
 * `stableMs` resets the schedule (its loss is news, retry soon); one that dropped sooner
 * continues it, so a peer that accepts and then crashes is not redialed in a hot loop.
 */
export function attemptAfterDrop(previousAttempt: number, connectedForMs: number, stableMs: number): number {
  return connectedForMs >= stableMs ? 1 : previousAttempt + 1;
}
