import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';

export interface HeartbeatOptions {
  intervalMs: number;
  /** Sends one ping (a WebSocket ping frame). */
  ping: () => void;
  /** Called once when a ping went unanswered for a whole interval. */
  onDead: () => void;
  clock?: Clock;
}

/**
 * Liveness for one connection: a ping every interval; a peer that has not answered the
 * previous ping by the time the next is due is declared dead. TCP alone can take many
 * minutes to notice a peer that vanished (a laptop that slept, a cable pulled). The time
 * from ping to pong is kept as the round-trip time.
 */
export class Heartbeat {
  private readonly clock: Clock;
  private handle: TimerHandle | undefined;
  private sentAt: number | undefined;
  private stopped = false;
  rttMs: number | undefined;

  constructor(private readonly options: HeartbeatOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    this.beat();
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  /**
   * After a wake from sleep or a network change, a connection may be dead without either
   * side knowing: ping now and expect the answer within `deadlineMs` rather than a whole
   * interval. The regular schedule resumes after that.
   */
  probe(deadlineMs: number): void {
    if (this.stopped) return;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    if (this.sentAt === undefined) {
      this.sentAt = this.clock.now();
      this.options.ping();
    }
    this.handle = this.clock.setTimeout(() => this.beat(), deadlineMs);
  }

  /**
   * Anything from the peer (bytes of a message, its own ping) shows it is alive, like a
   * pong. On a slow link a pong can wait behind megabytes of clip data in the socket buffers
   * for longer than the interval; without this, a healthy transfer on such a link would be
   * cut as dead. (No RTT sample: it was not an answer to the ping.)
   */
  onActivity(): void {
    this.sentAt = undefined;
  }

  /** The answer to the outstanding ping. */
  onPong(): void {
    if (this.sentAt === undefined) return;
    this.rttMs = this.clock.now() - this.sentAt;
    this.sentAt = undefined;
  }

  private beat(): void {
    if (this.stopped) return;
    if (this.sentAt !== undefined) {
      this.stop();
      this.options.onDead();
      return;
    }
    this.sentAt = this.clock.now();
    this.options.ping();
    this.handle = this.clock.setTimeout(() => this.beat(), this.options.intervalMs);
  }
}
