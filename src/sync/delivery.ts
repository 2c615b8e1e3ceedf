/** How one peer fared with one clip, as `copy --wait` reports it. */
export interface DeliveryResult {
  fingerprint: string;
  name: string;
  /** `skipped`: not sent by choice (a pause here, or a peer rule on either side), not a failure. */
  status: 'delivered' | 'failed' | 'skipped';
  /**
   * Why it failed or was skipped, in words for the user; on a delivery, only when there is
   * something to say (a lazy clip: "announced; the bytes move when it is pasted").
   */
  detail?: string;
}

type Resolver = (result: DeliveryResult) => void;

/**
 * Who is waiting for which peer to acknowledge which clip. Keyed by fingerprint rather
 * than by connection, so a clip still counts as delivered when the ack comes over a
 * replacement connection to the same peer.
 */
export class DeliveryTracker {
  private readonly waiting = new Map<string, Map<string, Resolver[]>>();

  wait(clipId: string, fingerprint: string): Promise<DeliveryResult> {
    return new Promise((resolve) => {
      let byPeer = this.waiting.get(clipId);
      if (byPeer === undefined) this.waiting.set(clipId, (byPeer = new Map()));
      byPeer.set(fingerprint, [...(byPeer.get(fingerprint) ?? []), resolve]);
    });
  }

  settle(clipId: string, result: DeliveryResult): void {
    const byPeer = this.waiting.get(clipId);
    const resolvers = byPeer?.get(result.fingerprint);
    if (byPeer === undefined || resolvers === undefined) return;
    byPeer.delete(result.fingerprint);
    if (byPeer.size === 0) this.waiting.delete(clipId);
    for (const resolve of resolvers) resolve(result);
  }

  /** The clips someone is waiting for `fingerprint` to acknowledge. */
  clipsWaitingOn(fingerprint: string): string[] {
    return [...this.waiting].filter(([, byPeer]) => byPeer.has(fingerprint)).map(([clipId]) => clipId);
  }

  /** Fails everything waiting on one peer (it went away), or on every clip but `keepId`. */
  failPeer(fingerprint: string, name: string, detail: string, exceptClipId?: string): void {
    for (const clipId of [...this.waiting.keys()]) {
      if (clipId !== exceptClipId) this.settle(clipId, { fingerprint, name, status: 'failed', detail });
    }
  }
}
