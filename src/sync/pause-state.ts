import { Timer, systemClock, type Clock } from '../core/clock.js';

/** Node's timers fire at once beyond this (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

/** `status.paused` and the answer of `POST /v1/pause`: when the pause began and when it ends by itself (null: at `resume`). */
export interface PauseInfo {
  since: string;
  until: string | null;
}

/**
 * Whether syncing is paused (`clipsync pause [--for D]`): while it is, the sync engines send
 * nothing and apply nothing received (see SyncGate). A pause with an end lifts itself then.
 * Listeners hear every change, the lifting included, so status followers (the tray, the
 * watch stream) need not poll.
 */
export class PauseState {
  private since: number | undefined;
  private until: number | undefined;
  private readonly listeners = new Set<(info: PauseInfo | null) => void>();
  private readonly expiry: Timer;

  constructor(private readonly clock: Clock = systemClock) {
    this.expiry = new Timer(clock, () => this.expireIfDue());
  }

  get paused(): boolean {
    return this.since !== undefined;
  }

  info(): PauseInfo | null {
    if (this.since === undefined) return null;
    return { since: new Date(this.since).toISOString(), until: this.until === undefined ? null : new Date(this.until).toISOString() };
  }

  /**
   * Pauses now, or changes when an existing pause ends (its start stays): `forMs` from now,
   * or, without it, not until `resume`.
   */
  pause(forMs?: number): PauseInfo {
    const now = this.clock.now();
    this.since ??= now;
    this.expiry.clear();
    if (forMs === undefined) this.until = undefined;
    else {
      this.until = now + forMs;
      this.expiry.set(Math.min(forMs, MAX_TIMER_MS));
    }
    const info = this.info()!;
    this.emit(info);
    return info;
  }

  /** Ends the pause; nothing to do (and nothing heard) when there is none. */
  resume(): void {
    this.expiry.clear();
    if (this.since === undefined) return;
    this.since = undefined;
    this.until = undefined;
    this.emit(null);
  }

  /** Called on every change; returns the function that stops it. */
  onChange(listener: (info: PauseInfo | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.expiry.clear();
  }

  /** A pause longer than one timer can wait (~24 days) is re-armed until its end comes. */
  private expireIfDue(): void {
    if (this.until === undefined) return;
    const left = this.until - this.clock.now();
    if (left > 0) this.expiry.set(Math.min(left, MAX_TIMER_MS));
    else this.resume();
  }

  private emit(info: PauseInfo | null): void {
    for (const listener of this.listeners) listener(info);
  }
}
