import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { malformed } from '../wire/frame.js';
import type { Clip } from './clip.js';
import type { DeliveryTracker } from './delivery.js';
import { MAX_REASON_LENGTH } from './messages.js';
import type { SessionState } from './session-state.js';
import type { TransferBoard } from './transfer-board.js';
import { Outgoing } from './transfer/outgoing.js';

/**
 * The sending half of every session: OFFER a clip, stream it on WANT within the credit the
 * receiver grants, and settle `copy --wait` on the receiver's ACK.
 */
export class SendSide {
  constructor(
    private readonly deliveries: DeliveryTracker,
    private readonly transfers: TransferBoard,
    private readonly log: Logger,
  ) {}

  /** Offers `clip` on one session; a different clip still on its way there is cancelled first. */
  async offer(state: SessionState, clip: Clip): Promise<void> {
    const previous = state.outgoing;
    if (previous !== undefined && previous.isLive && previous.clip.id === clip.id) return; // already on its way
    if (previous !== undefined && previous.clip.id !== clip.id) {
      previous.cancel();
      previous.handle?.end('cancelled', 'superseded by a newer clip');
      this.deliveries.settle(previous.clip.id, state.failure('superseded by a newer clip'));
      await state.send({ type: 'cancel', id: previous.clip.id });
    }
    state.outgoing = new Outgoing(clip, state.session.channel);
    await state.send({ type: 'offer', meta: clip });
  }

  onWant(state: SessionState, id: string, offset: number, window: number): void {
    const outgoing = state.outgoing;
    if (outgoing === undefined || outgoing.clip.id !== id || !outgoing.isLive) {
      void state.send({ type: 'cancel', id });
      return;
    }
    if (offset > outgoing.clip.size) throw malformed('WANT offset past the end of the clip');
    if (window < 1) throw malformed('WANT window must be at least 1 byte');
    if (outgoing.state !== 'offered') return; // one WANT per OFFER; a repeat changes nothing
    const { clip } = outgoing;
    const handle = this.transfers.start({
      id: clip.id,
      direction: 'send',
      peer: state.fingerprint,
      name: state.name,
      mime: clip.mime,
      total: clip.size,
      resumedFrom: offset,
    });
    outgoing.handle = handle;
    if (offset > 0) this.log.info({ peer: state.fingerprint, clip: id.slice(0, 16), offset }, 'resuming a transfer');
    outgoing.stream(offset, window, (n) => handle.advance(n)).catch((err: unknown) => {
      outgoing.fail();
      this.log.warn({ peer: state.fingerprint, clip: id.slice(0, 16), reason: messageOf(err) }, 'sending a clip failed');
      handle.end('failed', messageOf(err));
      if (state.outgoing === outgoing) this.deliveries.settle(id, state.failure(messageOf(err)));
      void state.send({ type: 'cancel', id });
    });
  }

  onCredit(state: SessionState, id: string, bytes: number): void {
    if (state.outgoing?.clip.id === id) state.outgoing.grant(bytes);
  }

  onAck(state: SessionState, id: string, status: string, reason: string | undefined): void {
    const outgoing = state.outgoing;
    const delivered = status === 'applied' || status === 'have';
    if (outgoing?.clip.id === id) {
      state.outgoing = undefined;
      outgoing.handle?.end(delivered ? 'completed' : 'failed', reason ?? status);
      outgoing.settle();
    }
    const { fingerprint, name } = state;
    if (delivered) {
      this.deliveries.settle(id, { fingerprint, name, status: 'delivered' });
      return;
    }
    const detail = status === 'stale' ? 'the peer holds a newer clip' : reason !== undefined ? reason.slice(0, MAX_REASON_LENGTH) : `refused (${status})`;
    if (status === 'rejected') this.log.warn({ peer: fingerprint, clip: id.slice(0, 16), reason: detail }, 'peer refused a clip');
    this.deliveries.settle(id, { fingerprint, name, status: 'failed', detail });
  }

  /** The session ended: its transfer out stops (a replacement session offers again). */
  stop(state: SessionState): void {
    const outgoing = state.outgoing;
    state.outgoing = undefined;
    if (outgoing === undefined) return;
    outgoing.cancel();
    outgoing.handle?.end('interrupted', 'disconnected');
  }
}
