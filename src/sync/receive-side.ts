import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isNewer, sameContent, type Clip, type ClipMeta } from './clip.js';
import { MemorySink, clipFieldsOf, type ClipBody, type IncomingSink } from './clip-body.js';
import type { HybridClock } from './hybrid-clock.js';
import { PartialTransfers } from './partials.js';
import type { SpoolPort } from './ports.js';
import type { SessionState } from './session-state.js';
import type { TransferBoard } from './transfer-board.js';
import { Incoming } from './transfer/incoming.js';

/** How far ahead of our wall clock a peer's timestamp may be; the hybrid clock absorbs less. */
const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

export interface ReceiveOptions {
  maxClipBytes: number;
  /** Bytes a receiver lets a sender have in flight per transfer. */
  windowBytes: number;
  /** Clips larger than this are received into the spool rather than memory. */
  spoolThresholdBytes: number;
  spool: SpoolPort | undefined;
  transfers: TransferBoard;
  log: Logger;
  clock: HybridClock;
  /** Wall-clock milliseconds, for the future-skew check. */
  now: () => number;
  /** The clip this daemon holds now. */
  current: () => Clip | undefined;
  /**
   * A verified clip that won: make it current, `acknowledge` it to the sender, then put it
   * on the clipboard (the sender's `copy --wait` need not wait for the desktop).
   */
  apply: (clip: Clip, acknowledge: () => Promise<void>) => Promise<void>;
}

/**
 * The receiving half of every session: decide on an OFFER (have it, stale, too big, too far
 * in the future, or want it), store DATA in order, and apply the clip only after END, once
 * every byte arrived and the content id matched — a partly received clip is never applied.
 */
export class ReceiveSide {
  private readonly partials: PartialTransfers;

  constructor(private readonly options: ReceiveOptions) {
    this.partials = new PartialTransfers(options.now);
  }

  async onOffer(state: SessionState, meta: ClipMeta): Promise<void> {
    const { log, clock, current } = this.options;
    if (meta.ts > this.options.now() + MAX_FUTURE_SKEW_MS) {
      // A timestamp this far ahead is a broken clock or a hostile peer; observing it would
      // drag this daemon's clock (and every later copy) to a nonsense value.
      log.warn({ peer: state.fingerprint, ts: meta.ts }, 'refused a clip stamped too far in the future');
      return state.ack(meta.id, 'rejected', 'clip timestamp is more than a day ahead of the receiver; check the sender clock');
    }
    clock.observe(meta.ts);
    state.latestOffer = meta.id;
    if (sameContent(meta, current())) return state.ack(meta.id, 'have');
    if (state.incoming?.meta.id === meta.id) return; // already receiving it
    if (!isNewer(meta, current())) return state.ack(meta.id, 'stale');
    if (meta.size > this.options.maxClipBytes) {
      const reason = `clip of ${meta.size} bytes is over ${this.options.maxClipBytes}, the receiver's limit`;
      log.warn({ peer: state.fingerprint, clip: meta.id.slice(0, 16), size: meta.size }, 'refused an oversized clip');
      return state.ack(meta.id, 'rejected', reason);
    }
    const older = state.incoming;
    if (older !== undefined) {
      // One transfer per peer and direction: the peer's newer clip replaces its older one.
      state.incoming = undefined;
      older.handle.end('cancelled', 'superseded by a newer clip');
      await older.discard();
    }
    let sink: IncomingSink;
    try {
      sink = await this.openSink(meta);
    } catch (err) {
      log.warn({ peer: state.fingerprint, clip: meta.id.slice(0, 16), reason: messageOf(err) }, 'cannot receive a clip');
      return state.ack(meta.id, 'rejected', `receiver cannot store the clip: ${messageOf(err)}`);
    }
    if (!state.isLive || state.incoming !== undefined || state.latestOffer !== meta.id) {
      // The session went away, or a newer offer from this peer came in while the sink opened:
      // the sender replaced this clip with that one, so only that one is asked for.
      await sink.suspend();
      return;
    }
    const handle = this.options.transfers.start({
      id: meta.id,
      direction: 'receive',
      peer: state.fingerprint,
      name: state.name,
      mime: meta.mime,
      total: meta.size,
      resumedFrom: sink.offset,
    });
    const incoming = new Incoming(meta, sink, state.session.channel, this.options.windowBytes, handle, (err) =>
      void this.refuse(state, incoming, messageOf(err)),
    );
    state.incoming = incoming;
    if (sink.offset > 0) log.info({ peer: state.fingerprint, clip: meta.id.slice(0, 16), offset: sink.offset }, 'resuming a transfer');
    await incoming.request().catch(() => undefined);
  }

  onData(state: SessionState, id: string, offset: number, body: Buffer): void {
    // A transfer we dropped (cancelled, superseded) may still have frames on the wire.
    if (state.incoming?.meta.id === id) state.incoming.data(offset, body);
  }

  onCancel(state: SessionState, id: string): void {
    const incoming = state.incoming;
    if (incoming?.meta.id !== id) return;
    state.incoming = undefined;
    incoming.handle.end('cancelled', 'the sender cancelled it');
    void incoming.discard();
  }

  async onEnd(state: SessionState, id: string): Promise<void> {
    const incoming = state.incoming;
    if (incoming === undefined || incoming.meta.id !== id) return;
    const { meta } = incoming;
    const log = this.options.log.child({ peer: state.fingerprint, clip: id.slice(0, 16) });
    let body: ClipBody;
    try {
      body = await incoming.finish();
    } catch (err) {
      if (state.stillReceiving(incoming)) state.incoming = undefined;
      log.warn({ reason: messageOf(err) }, 'clip not applied');
      incoming.handle.end('failed', messageOf(err));
      return state.ack(id, 'rejected', messageOf(err));
    }
    if (!state.stillReceiving(incoming)) return; // superseded or disconnected while verifying
    state.incoming = undefined;
    incoming.handle.end('completed');
    const current = this.options.current();
    if (!isNewer(meta, current) && !sameContent(meta, current)) return state.ack(id, 'stale');
    const clip: Clip = { ...meta, ...clipFieldsOf(body) };
    log.info({ size: meta.size, mime: meta.mime, formats: meta.formats.map((f) => f.mime), origin: meta.origin, from: state.name }, 'clip received');
    await this.options.apply(clip, () => state.ack(id, 'applied'));
  }

  /** The session ended: what arrived is kept for a resume (in the spool, or in memory here). */
  async stop(state: SessionState): Promise<void> {
    const incoming = state.incoming;
    state.incoming = undefined;
    if (incoming === undefined) return;
    incoming.handle.end('interrupted', 'disconnected');
    await incoming.suspend();
    if (incoming.sink instanceof MemorySink && incoming.sink.offset > 0) this.partials.keep(incoming.meta, incoming.sink);
  }

  private async openSink(meta: ClipMeta): Promise<IncomingSink> {
    const { spool, spoolThresholdBytes } = this.options;
    if (spool !== undefined && meta.size > spoolThresholdBytes) return spool.beginIncoming(meta);
    return this.partials.take(meta.id) ?? new MemorySink(meta);
  }

  /** A write failed on our side: tell the sender now rather than at END, and keep nothing. */
  private async refuse(state: SessionState, incoming: Incoming, reason: string): Promise<void> {
    if (!state.stillReceiving(incoming)) return;
    state.incoming = undefined;
    this.options.log.warn({ peer: state.fingerprint, clip: incoming.meta.id.slice(0, 16), reason }, 'cannot store an incoming clip; refused it');
    incoming.handle.end('failed', reason);
    await incoming.discard();
    await state.ack(incoming.meta.id, 'rejected', `receiver cannot store the clip: ${reason}`);
  }
}
