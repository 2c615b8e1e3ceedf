import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { DeliveryTracker } from './delivery.js';

/**
 * `copy --wait` and a peer that drops mid-transfer: the peer usually comes back and the
 * transfer resumes, so its waiters are given `graceMs` before they are told it failed. The
 * clock runs from the first drop; only a transfer that is moving again extends it, so a
 * peer that reconnects and drops over and over (a hostile network) still fails in bounded
 * time. Only what was waiting at the drop is failed: a later copy has its own course.
 */
export class DeliveryGrace {
  private readonly pending = new Map<string, { clips: Set<string>; timer: TimerHandle | undefined }>();

  constructor(
    private readonly deliveries: DeliveryTracker,
    private readonly graceMs: number,
    /** Whether a transfer to this peer is streaming right now. */
    private readonly isMoving: (fingerprint: string) => boolean,
    private readonly clock: Clock = systemClock,
  ) {}

  peerDropped(fingerprint: string, name: string): void {
    const known = this.pending.get(fingerprint);
    if (known !== undefined) {
      for (const id of this.deliveries.clipsWaitingOn(fingerprint)) known.clips.add(id);
      return;
    }
    const grace = { clips: new Set(this.deliveries.clipsWaitingOn(fingerprint)), timer: undefined as TimerHandle | undefined };
    const check = (): void => {
      if (this.isMoving(fingerprint)) {
        grace.timer = this.clock.setTimeout(check, this.graceMs);
        return;
      }
      this.pending.delete(fingerprint);
      for (const id of grace.clips) this.deliveries.settle(id, { fingerprint, name, status: 'failed', detail: 'disconnected before it had the clip' });
    };
    grace.timer = this.clock.setTimeout(check, this.graceMs);
    this.pending.set(fingerprint, grace);
  }

  stop(): void {
    for (const grace of this.pending.values()) if (grace.timer !== undefined) this.clock.clearTimeout(grace.timer);
    this.pending.clear();
  }
}
