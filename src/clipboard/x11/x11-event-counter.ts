import type { XEvent } from 'x11';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { fail } from '../../core/errors.js';
import { DeadlineError, type XConnection } from './x11-connection.js';

/**
 * Counts matching events from the moment it is made, so that none is missed between two waits
 * (a one-shot wait registered after the event arrived would hang until its deadline).
 */
export class EventCounter {
  private count = 0;
  private waiter: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private readonly unwatchClose: () => void;

  constructor(
    conn: XConnection,
    private readonly clock: Clock,
    match: (ev: XEvent) => boolean,
  ) {
    this.unsubscribe = conn.onEvent((ev) => {
      if (!match(ev)) return;
      this.count++;
      this.waiter?.();
    });
    this.unwatchClose = conn.onClose(() => this.waiter?.());
    this.closed = () => conn.closed;
    this.closedError = () => fail('CLIPSYNC_ERR_CLIPBOARD', `X display ${conn.display} disconnected`);
  }

  private readonly closed: () => boolean;
  private readonly closedError: () => Error;

  reset(): void {
    this.count = 0;
  }

  next(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const settle = (): boolean => {
        if (this.count > 0) {
          this.count--;
          resolve();
          return true;
        }
        if (this.closed()) {
          reject(this.closedError());
          return true;
        }
        return false;
      };
      if (settle()) return;
      this.waiter = () => {
        if (!settle()) return;
        this.waiter = undefined;
        if (timer !== undefined) this.clock.clearTimeout(timer);
      };
      timer = this.clock.setTimeout(() => {
        this.waiter = undefined;
        reject(new DeadlineError(timeoutMs));
      }, timeoutMs);
    });
  }

  stop(): void {
    this.unsubscribe();
    this.unwatchClose();
    this.waiter = undefined;
  }
}
