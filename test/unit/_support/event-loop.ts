/**
 * Waiting on the event loop, for tests whose events come from in-memory sockets and channels:
 * what is in flight arrives within a few turns, so no test sleeps for real time.
 */

/** Lets `n` turns of the event loop pass (for what must, or must not, have happened by then). */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Turns the event loop until `check` holds; fails after `limit` turns (nothing is moving). */
export async function untilTrue(check: () => boolean, what: string, limit = 100_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (check()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}
