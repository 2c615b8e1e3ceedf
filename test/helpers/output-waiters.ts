import type { ChildProcess } from 'node:child_process';

/**
 * Waits on a child process's output: each re-checks its condition whenever the owner reports
 * new output (`wake`), and fails when the process's output has ended first (see
 * childOutputWaiters) or a deadline passes. The deadline is a failure bound for a hung test,
 * not a timing assertion.
 */
export class OutputWaiters {
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly outputEnded: () => boolean,
    private readonly failure: (message: string) => Error,
  ) {}

  /** New output (or its end): every waiter checks again. */
  wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Resolves with the first value `find` returns other than undefined. */
  until<T>(find: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found !== undefined) return done(() => resolve(found));
        if (this.outputEnded()) return done(() => reject(this.failure(`exited before ${what}`)));
      };
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.wakers.delete(check);
        settle();
      };
      const timer = setTimeout(() => done(() => reject(this.failure(`timed out waiting for ${what}`))), timeoutMs);
      this.wakers.add(check);
      check();
    });
  }
}

/**
 * Waiters on a child process's output. They give up once its output has ended: at `close`,
 * not `exit`, because the child's last lines can still be in the pipe when its exit is reported.
 */
export function childOutputWaiters(child: ChildProcess, failure: (message: string) => Error): OutputWaiters {
  let ended = false;
  const waiters = new OutputWaiters(() => ended, failure);
  child.once('close', () => {
    ended = true;
    waiters.wake();
  });
  return waiters;
}
