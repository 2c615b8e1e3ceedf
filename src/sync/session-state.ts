import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { DeliveryResult } from './delivery.js';
import { sendMessage, type AckStatus, type SyncMessage } from './messages.js';
import type { PeerSession } from './ports.js';
import type { Incoming } from './transfer/incoming.js';
import type { Outgoing } from './transfer/outgoing.js';

/**
 * One attached peer session and its two transfers: at most one clip on its way out and one
 * on its way in, per peer. A newer clip in either direction replaces the older transfer.
 */
export class SessionState {
  outgoing: Outgoing | undefined;
  incoming: Incoming | undefined;
  /**
   * The id of the last OFFER this peer sent. Offers are handled with awaits in them (a sink
   * opens), and several can arrive in one read from the socket: only the latest may go on to
   * ask for its bytes, whichever finishes opening first.
   */
  latestOffer: string | undefined;
  /** The OFFER whose sink is opening now: the same OFFER again meanwhile is not a second transfer. */
  openingOffer: string | undefined;
  /** Set when the session was replaced by a newer one to the same key, or went away. */
  private ended = false;

  constructor(readonly session: PeerSession) {}

  get fingerprint(): string {
    return this.session.fingerprint;
  }

  get name(): string {
    return this.session.name;
  }

  /** Still the peer's session and still open: work begun before an await may go on. */
  get isLive(): boolean {
    return !this.ended && this.session.channel.isOpen;
  }

  /**
   * Whether `incoming` is still this session's transfer after an await: a newer offer, a
   * cancel or a disconnect may have replaced it meanwhile, and then its outcome is moot.
   */
  stillReceiving(incoming: Incoming): boolean {
    return this.incoming === incoming;
  }

  end(): void {
    this.ended = true;
  }

  /** A send on a channel that just closed is not an error here: detaching settles the waiters. */
  async send(message: SyncMessage): Promise<void> {
    const channel = this.session.channel;
    if (!channel.isOpen) return;
    try {
      await sendMessage(channel, message);
    } catch {
      // closed while waiting for the socket to drain
    }
  }

  ack(id: string, status: AckStatus, reason?: string): Promise<void> {
    return this.send({ type: 'ack', id, status, reason });
  }

  failure(detail: string): DeliveryResult {
    return { fingerprint: this.fingerprint, name: this.name, status: 'failed', detail };
  }

  /** A frame broke the protocol: the session is closed with the violation's code. */
  protocolError(err: unknown, log: Logger): void {
    log.warn({ peer: this.fingerprint, reason: messageOf(err) }, 'closing connection after a bad frame');
    const violation = err as { closeCode?: number; reason?: string };
    this.session.channel.close(violation.closeCode ?? 4000, violation.reason ?? 'protocol error');
  }
}
