import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { malformed } from '../wire/frame.js';
import { isLocal, type Clip } from './clip.js';
import { bodyOf, leavesOfBody } from './clip-body.js';
import { fileEndsOnceKnown } from '../files/manifest.js';
import type { DeliveryTracker } from './delivery.js';
import { MAX_REASON_LENGTH } from './messages.js';
import type { SessionState } from './session-state.js';
import type { TransferBoard } from './transfer-board.js';
import { Outgoing } from './transfer/outgoing.js';

/** What `copy --wait` is told when a receiver only announced the clip (docs/PROTOCOL.md §5.4). */
export const ANNOUNCED_DETAIL = 'announced; the bytes move when it is pasted';

/**
 * The sending half of every session: OFFER a clip, stream it on WANT within the credit the
 * receiver grants, and settle `copy --wait` on the receiver's ACK.
 */
export class SendSide {
  constructor(
    private readonly deliveries: DeliveryTracker,
    private readonly transfers: TransferBoard,
    private readonly log: Logger,
    /** This daemon's current clip: a WANT for it is served even without an OFFER on that connection (a lazy fetch). */
    private readonly current: () => Clip | undefined,
    /** Whether a peer may fetch the current clip unoffered (not while paused, not against its rules). */
    private readonly mayServe: (state: SessionState, clip: Clip) => boolean = () => true,
  ) {}

  /**
   * Offers `clip` on one session; a different clip still on its way there is cancelled first.
   * A clip held only as an announcement is never offered: this daemon has no bytes to send,
   * and a third daemon gets the clip from its origin (connected to it in a mesh) or not at all.
   */
  async offer(state: SessionState, clip: Clip): Promise<void> {
    if (!isLocal(clip)) return;
    // The OFFER carries the leaf hashes; a clip made without them gets them once, here.
    clip.leaves ??= await leavesOfBody(bodyOf(clip), clip.size);
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

  onWant(state: SessionState, id: string, offset: number, window: number, restart = false): void {
    const current = this.current();
    if ((state.outgoing === undefined || !state.outgoing.isLive) && current?.id === id && isLocal(current) && this.mayServe(state, current)) {
      // A receiver that was only announced this clip now fetches it (someone pasted it there):
      // stream it as if it had just been offered on this connection, and settle on its ACK.
      state.outgoing = new Outgoing(current, state.session.channel);
      this.log.info({ peer: state.fingerprint, clip: id.slice(0, 16), offset }, 'a peer fetches the announced clip');
    }
    const outgoing = state.outgoing;
    if (outgoing === undefined || outgoing.clip.id !== id || !outgoing.isLive) {
      void state.send({ type: 'cancel', id });
      return;
    }
    if (offset > outgoing.clip.size) throw malformed('WANT offset past the end of the clip');
    if (window < 1) throw malformed('WANT window must be at least 1 byte');
    if (restart && outgoing.restart()) {
      // A leaf failed the receiver's check: the stream under way stops, and starts again from
      // the receiver's proven bytes (docs/PROTOCOL.md §5.2).
      this.log.warn({ peer: state.fingerprint, clip: id.slice(0, 16), offset }, 'the peer asks for part of a clip again');
      outgoing.handle?.end('interrupted', 'asked again from a leaf that failed its check');
      outgoing.handle = undefined;
    }
    if (outgoing.state !== 'offered') return; // one WANT per OFFER; a plain repeat changes nothing
    const { clip } = outgoing;
    const handle = this.transfers.start({
      id: clip.id,
      direction: 'send',
      peer: state.fingerprint,
      name: state.name,
      mime: clip.mime,
      total: clip.size,
      resumedFrom: offset,
      ...(clip.tree !== undefined ? { fileEnds: fileEndsOnceKnown(() => clip.tree!.manifest, clip.tree.manifestBytes.length) } : {}),
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
    const delivered = status === 'applied' || status === 'have' || status === 'announced';
    if (outgoing?.clip.id === id) {
      state.outgoing = undefined;
      outgoing.handle?.end(delivered ? 'completed' : 'failed', reason ?? status);
      outgoing.settle();
    }
    const { fingerprint, name } = state;
    if (status === 'declined') {
      // Paused there, or its rules keep this clip (or this peer's clips) out: a choice, not a failure.
      this.deliveries.settle(id, { fingerprint, name, status: 'skipped', detail: reason?.slice(0, MAX_REASON_LENGTH) ?? 'declined by the peer' });
      return;
    }
    if (delivered) {
      this.deliveries.settle(id, { fingerprint, name, status: 'delivered', ...(status === 'announced' ? { detail: ANNOUNCED_DETAIL } : {}) });
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


