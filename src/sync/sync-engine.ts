import { EventEmitter } from 'node:events';
import type { ClipboardBackend, ClipboardContent } from '../clipboard/backend.js';
import type { ClipboardWatcher } from '../clipboard/watcher.js';
import { fail, messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Connection } from '../protocol/connection.js';
import { CloseCode } from '../wire/close-codes.js';
import { FrameType, field, malformed, type Frame, type FrameTypeValue } from '../wire/frame.js';
import { MAX_MIME_LENGTH, contentId, isValidMime, isNewer, metaOf, sameContent, type Clip, type ClipMeta } from './clip.js';
import { MemorySink, type ClipBody, type IncomingSink } from './clip-body.js';
import { DeliveryTracker, type DeliveryResult } from './delivery.js';
import { DeliveryGrace } from './delivery-grace.js';
import { HybridClock } from './hybrid-clock.js';
import { Incoming } from './transfer/incoming.js';
import { Outgoing } from './transfer/outgoing.js';
import { PartialTransfers } from './partials.js';
import { TransferBoard } from './transfer-board.js';

/** How far ahead of our wall clock a peer's timestamp may be; the hybrid clock absorbs less. */
const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

/** A connected, authenticated peer as the sync layer sees it. */
export interface PeerSession {
  fingerprint: string;
  name: string;
  connection: Connection;
}

/** Large clips live in files; the engine only needs these from the spool. */
export interface SpoolPort {
  /** A sink for a large incoming clip, resuming from a part file left by an earlier try. */
  beginIncoming(meta: ClipMeta): Promise<IncomingSink>;
  /** Keeps the spool's cleanup away from a file in use (the current clip). */
  pin(id: string): void;
  unpin(id: string): void;
}

export interface SyncOptions {
  ownFingerprint: string;
  backend: ClipboardBackend;
  maxClipBytes: number;
  /** Bytes per DATA frame. */
  chunkBytes: number;
  /** Bytes a receiver lets a sender have in flight per transfer. */
  windowBytes: number;
  /** Clips larger than this are received into the spool rather than memory. */
  spoolThresholdBytes: number;
  spool?: SpoolPort;
  /** How long `copy --wait` keeps waiting for a peer that disconnected mid-transfer to return. */
  deliveryGraceMs: number;
  transfers: TransferBoard;
  log: Logger;
  clock?: HybridClock;
}

interface LinkState {
  link: PeerSession;
  outgoing: Outgoing | undefined;
  incoming: Incoming | undefined;
}

/** A peer the clip is on its way to, and how that will end. */
export interface PendingDelivery {
  fingerprint: string;
  name: string;
  result: Promise<DeliveryResult>;
}

export interface SyncEvents {
  applied: [Clip, string];
}

/**
 * The clip model: the current clip, last-writer-wins ordering, dedupe by content id, and
 * fan-out to every connected peer. A clip travels OFFER → WANT(offset, window) → DATA… (with
 * CREDIT back) → END → ACK; the receiver applies it only after every byte arrived and the
 * content hash matched, so a partly received clip is never applied. A transfer cut by a
 * disconnect resumes from what the receiver kept. Clips go to directly connected peers
 * only, never relayed, so nothing can loop.
 */
export class SyncEngine extends EventEmitter<SyncEvents> {
  private current: Clip | undefined;
  private readonly links = new Map<string, LinkState>();
  private readonly deliveries = new DeliveryTracker();
  private readonly clock: HybridClock;
  private readonly partials = new PartialTransfers();
  private watcher: ClipboardWatcher | undefined;
  private readonly grace: DeliveryGrace;

  constructor(private readonly options: SyncOptions) {
    super();
    this.clock = options.clock ?? new HybridClock();
    this.grace = new DeliveryGrace(this.deliveries, options.deliveryGraceMs, (fp) => this.links.get(fp)?.outgoing?.isStreaming === true);
  }

  currentClip(): Clip | undefined {
    return this.current;
  }

  /** Lets the engine tell the watcher what it wrote, so received clips are not echoed. */
  useWatcher(watcher: ClipboardWatcher): void {
    this.watcher = watcher;
  }

  /**
   * A copy made on this machine (`clipsync copy`, or the system clipboard changing). `body`
   * is the bytes, or a spool file already named by its content id. Returns the clip and,
   * per connected peer, a promise of how delivery went.
   */
  async copyLocal(
    body: ClipBody & { id?: string; size?: number },
    mime: string,
    source: 'cli' | 'clipboard',
  ): Promise<{ clip: Clip; deliveries: PendingDelivery[] }> {
    const size = body.data?.length ?? body.size ?? 0;
    if (size > this.options.maxClipBytes) {
      throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the clip is ${size} bytes, over the limit of ${this.options.maxClipBytes} bytes`, {
        hint: 'raise maxClipBytes in config.json on every machine to send larger clips',
      });
    }
    const id = body.data !== undefined ? contentId(body.data) : body.id!;
    let clip: Clip;
    if (this.current !== undefined && sameContent({ id, mime }, this.current)) {
      clip = this.current; // the same content again: nothing new to order or store
    } else {
      clip = { id, mime, size, ts: this.clock.now(), origin: this.options.ownFingerprint, ...bodyOf(body) };
      this.setCurrent(clip);
      if (source === 'cli') await this.writeToClipboard(clip);
      this.options.log.info({ clip: id.slice(0, 16), size, mime, source }, 'local copy');
    }
    const deliveries = [...this.links.values()].map((state) => {
      const result = this.deliveries.wait(clip.id, state.link.fingerprint);
      void this.offer(state, clip);
      return { fingerprint: state.link.fingerprint, name: state.link.name, result };
    });
    return { clip, deliveries };
  }

  /** What the system clipboard held when the daemon started: kept, but older than any copy. */
  adoptInitial(content: ClipboardContent): void {
    if (this.current !== undefined) return;
    const id = contentId(content.data);
    this.current = { id, mime: content.mime, size: content.data.length, ts: 0, origin: this.options.ownFingerprint, data: content.data };
  }

  /** Starts syncing with a newly authenticated peer; replaces an older link to the same key. */
  attach(link: PeerSession): void {
    const state: LinkState = { link, outgoing: undefined, incoming: undefined };
    const previous = this.links.get(link.fingerprint);
    if (previous !== undefined) this.stopLink(previous);
    this.links.set(link.fingerprint, state);
    link.connection.on('frame', (frame) => {
      if (this.links.get(link.fingerprint) !== state) return;
      try {
        this.onFrame(state, frame);
      } catch (err) {
        this.protocolError(state, err);
      }
    });
    link.connection.once('close', (info) => this.detach(state, info.code));
    if (this.current !== undefined) void this.offer(state, this.current);
  }

  /** Stops every transfer, keeping partial ones for a resume after restart. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.links.values()].map((state) => this.stopLink(state)));
    this.grace.stop();
  }

  private detach(state: LinkState, closeCode: number): void {
    void this.stopLink(state);
    if (this.links.get(state.link.fingerprint) !== state) return; // replaced by a newer connection
    this.links.delete(state.link.fingerprint);
    const { fingerprint, name } = state.link;
    // A lost network or a restarting peer comes back and resumes; a refusal or a tampered
    // channel (4001, 4005, 4008…) is no reason to keep `copy --wait` hoping.
    if (isTransientClose(closeCode)) this.grace.peerDropped(fingerprint, name);
    else this.deliveries.failPeer(fingerprint, name, 'disconnected before it had the clip');
  }

  private async stopLink(state: LinkState): Promise<void> {
    const { outgoing, incoming } = state;
    state.outgoing = undefined;
    state.incoming = undefined;
    if (outgoing !== undefined) {
      outgoing.cancel();
      outgoing.handle?.end('interrupted', 'disconnected');
    }
    if (incoming !== undefined) {
      incoming.handle.end('interrupted', 'disconnected');
      await incoming.suspend();
      if (incoming.sink instanceof MemorySink && incoming.sink.offset > 0) this.partials.keep(incoming.meta, incoming.sink);
    }
  }

  private async offer(state: LinkState, clip: Clip): Promise<void> {
    const previous = state.outgoing;
    if (previous !== undefined && !previous.cancelled && previous.clip.id === clip.id) return; // already on its way
    if (previous !== undefined && previous.clip.id !== clip.id) {
      previous.cancel();
      previous.handle?.end('cancelled', 'superseded by a newer clip');
      this.deliveries.settle(previous.clip.id, this.failure(state, 'superseded by a newer clip'));
      await this.sendQuietly(state, FrameType.cancel, { id: previous.clip.id });
    }
    state.outgoing = new Outgoing(clip, state.link.connection, this.options.chunkBytes);
    await this.sendQuietly(state, FrameType.offer, metaOf(clip));
  }

  private onFrame(state: LinkState, frame: Frame): void {
    const h = frame.header;
    switch (frame.type) {
      case FrameType.offer:
        return void this.onOffer(state, readMeta(h)).catch((err: unknown) => this.protocolError(state, err));
      case FrameType.want:
        return this.onWant(state, field.string(h, 'id', 64), field.integer(h, 'offset'), field.integer(h, 'window'));
      case FrameType.credit: {
        const id = field.string(h, 'id', 64);
        const bytes = field.integer(h, 'bytes');
        if (state.outgoing?.clip.id === id) state.outgoing.grant(bytes);
        return;
      }
      case FrameType.data: {
        const id = field.string(h, 'id', 64);
        const offset = field.integer(h, 'offset');
        // A transfer we dropped (cancelled, superseded) may still have frames on the wire.
        if (state.incoming?.meta.id === id) state.incoming.data(offset, frame.body);
        return;
      }
      case FrameType.end:
        return void this.onEnd(state, field.string(h, 'id', 64)).catch((err: unknown) => this.protocolError(state, err));
      case FrameType.ack:
        return this.onAck(state, field.string(h, 'id', 64), field.string(h, 'status', 16), h['reason']);
      case FrameType.cancel: {
        const incoming = state.incoming;
        if (incoming?.meta.id === field.string(h, 'id', 64)) {
          state.incoming = undefined;
          incoming.handle.end('cancelled', 'the sender cancelled it');
          void incoming.discard();
        }
        return;
      }
      default:
        throw malformed(`frame type ${frame.type} is not expected here`);
    }
  }

  private onWant(state: LinkState, id: string, offset: number, window: number): void {
    const outgoing = state.outgoing;
    if (outgoing === undefined || outgoing.clip.id !== id || outgoing.cancelled) {
      void this.sendQuietly(state, FrameType.cancel, { id });
      return;
    }
    if (offset > outgoing.clip.size) throw malformed('WANT offset past the end of the clip');
    if (window < 1) throw malformed('WANT window must be at least 1 byte');
    if (outgoing.isStreaming) return; // one WANT per OFFER; a repeat changes nothing
    const { clip } = outgoing;
    const handle = this.options.transfers.start({
      id: clip.id,
      direction: 'send',
      peer: state.link.fingerprint,
      name: state.link.name,
      mime: clip.mime,
      total: clip.size,
      resumedFrom: offset,
    });
    outgoing.handle = handle;
    if (offset > 0) this.options.log.info({ peer: state.link.fingerprint, clip: id.slice(0, 16), offset }, 'resuming a transfer');
    outgoing.stream(offset, window, (n) => handle.advance(n)).catch((err: unknown) => {
      this.options.log.warn({ peer: state.link.fingerprint, clip: id.slice(0, 16), reason: messageOf(err) }, 'sending a clip failed');
      handle.end('failed', messageOf(err));
      if (state.outgoing === outgoing) this.deliveries.settle(id, this.failure(state, messageOf(err)));
      void this.sendQuietly(state, FrameType.cancel, { id });
    });
  }

  private async onOffer(state: LinkState, meta: ClipMeta): Promise<void> {
    const log = this.options.log;
    if (meta.ts > Date.now() + MAX_FUTURE_SKEW_MS) {
      // A timestamp this far ahead is a broken clock or a hostile peer; observing it would
      // drag this daemon's clock (and every later copy) to a nonsense value.
      log.warn({ peer: state.link.fingerprint, ts: meta.ts }, 'refused a clip stamped too far in the future');
      return this.ack(state, meta.id, 'rejected', 'clip timestamp is more than a day ahead of the receiver; check the sender clock');
    }
    this.clock.observe(meta.ts);
    if (sameContent(meta, this.current)) return this.ack(state, meta.id, 'have');
    if (state.incoming?.meta.id === meta.id) return; // already receiving it
    if (!isNewer(meta, this.current)) return this.ack(state, meta.id, 'stale');
    if (meta.size > this.options.maxClipBytes) {
      const reason = `clip of ${meta.size} bytes is over ${this.options.maxClipBytes}, the receiver's limit`;
      log.warn({ peer: state.link.fingerprint, clip: meta.id.slice(0, 16), size: meta.size }, 'refused an oversized clip');
      return this.ack(state, meta.id, 'rejected', reason);
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
      log.warn({ peer: state.link.fingerprint, clip: meta.id.slice(0, 16), reason: messageOf(err) }, 'cannot receive a clip');
      return this.ack(state, meta.id, 'rejected', `receiver cannot store the clip: ${messageOf(err)}`);
    }
    if (this.links.get(state.link.fingerprint) !== state || !state.link.connection.isOpen || state.incoming !== undefined) {
      await sink.suspend(); // the link went away (or another offer won) while the sink opened
      return;
    }
    const handle = this.options.transfers.start({
      id: meta.id,
      direction: 'receive',
      peer: state.link.fingerprint,
      name: state.link.name,
      mime: meta.mime,
      total: meta.size,
      resumedFrom: sink.offset,
    });
    const incoming = new Incoming(meta, sink, state.link.connection, this.options.windowBytes, handle, (err) =>
      void this.refuseIncoming(state, incoming, messageOf(err)),
    );
    state.incoming = incoming;
    if (sink.offset > 0) log.info({ peer: state.link.fingerprint, clip: meta.id.slice(0, 16), offset: sink.offset }, 'resuming a transfer');
    await incoming.request().catch(() => undefined);
  }

  private async openSink(meta: ClipMeta): Promise<IncomingSink> {
    const { spool, spoolThresholdBytes } = this.options;
    if (spool !== undefined && meta.size > spoolThresholdBytes) return spool.beginIncoming(meta);
    return this.partials.take(meta.id) ?? new MemorySink(meta);
  }

  /** A write failed on our side: tell the sender now rather than at END, and keep nothing. */
  private async refuseIncoming(state: LinkState, incoming: Incoming, reason: string): Promise<void> {
    if (state.incoming !== incoming) return;
    state.incoming = undefined;
    this.options.log.warn({ peer: state.link.fingerprint, clip: incoming.meta.id.slice(0, 16), reason }, 'cannot store an incoming clip; refused it');
    incoming.handle.end('failed', reason);
    await incoming.discard();
    await this.ack(state, incoming.meta.id, 'rejected', `receiver cannot store the clip: ${reason}`);
  }

  private async onEnd(state: LinkState, id: string): Promise<void> {
    const incoming = state.incoming;
    if (incoming === undefined || incoming.meta.id !== id) return;
    const { meta } = incoming;
    const log = this.options.log.child({ peer: state.link.fingerprint, clip: id.slice(0, 16) });
    let body: ClipBody;
    try {
      body = await incoming.finish();
    } catch (err) {
      if (state.incoming === incoming) state.incoming = undefined;
      log.warn({ reason: messageOf(err) }, 'clip not applied');
      incoming.handle.end('failed', messageOf(err));
      return this.ack(state, id, 'rejected', messageOf(err));
    }
    if (state.incoming !== incoming) return; // superseded or disconnected while verifying
    state.incoming = undefined;
    incoming.handle.end('completed');
    if (!isNewer(meta, this.current) && !sameContent(meta, this.current)) return this.ack(state, id, 'stale');
    const clip: Clip = { ...meta, ...bodyOf(body) };
    this.setCurrent(clip);
    log.info({ size: meta.size, mime: meta.mime, from: state.link.name }, 'clip received');
    await this.ack(state, id, 'applied');
    await this.writeToClipboard(clip);
    this.emit('applied', clip, state.link.fingerprint);
  }

  private onAck(state: LinkState, id: string, status: string, reason: unknown): void {
    const outgoing = state.outgoing;
    if (outgoing?.clip.id === id) {
      state.outgoing = undefined;
      outgoing.handle?.end(status === 'applied' || status === 'have' ? 'completed' : 'failed', typeof reason === 'string' ? reason : status);
      outgoing.cancel();
    }
    const { fingerprint, name } = state.link;
    if (status === 'applied' || status === 'have') {
      this.deliveries.settle(id, { fingerprint, name, status: 'delivered' });
      return;
    }
    const detail =
      status === 'stale' ? 'the peer holds a newer clip' : typeof reason === 'string' ? reason.slice(0, 300) : `refused (${status})`;
    if (status === 'rejected') this.options.log.warn({ peer: fingerprint, clip: id.slice(0, 16), reason: detail }, 'peer refused a clip');
    this.deliveries.settle(id, { fingerprint, name, status: 'failed', detail });
  }

  private setCurrent(clip: Clip): void {
    const previous = this.current;
    this.current = clip;
    if (clip.file !== undefined) this.options.spool?.pin(clip.id);
    if (previous?.file !== undefined && previous.id !== clip.id) this.options.spool?.unpin(previous.id);
  }

  private protocolError(state: LinkState, err: unknown): void {
    this.options.log.warn({ peer: state.link.fingerprint, reason: messageOf(err) }, 'closing connection after a bad frame');
    const violation = err as { closeCode?: number; reason?: string };
    state.link.connection.close(violation.closeCode ?? 4000, violation.reason ?? 'protocol error');
  }

  private ack(state: LinkState, id: string, status: 'applied' | 'have' | 'stale' | 'rejected', reason?: string): Promise<void> {
    return this.sendQuietly(state, FrameType.ack, reason === undefined ? { id, status } : { id, status, reason: reason.slice(0, 300) });
  }

  private failure(state: LinkState, detail: string): DeliveryResult {
    return { fingerprint: state.link.fingerprint, name: state.link.name, status: 'failed', detail };
  }

  /** A send on a connection that just closed is not an error here: `detach` settles the waiters. */
  private async sendQuietly(state: LinkState, type: FrameTypeValue, header: object, body?: Buffer): Promise<void> {
    if (!state.link.connection.isOpen) return;
    try {
      await state.link.connection.send(type, header, body);
    } catch {
      // closed while waiting for the socket to drain
    }
  }

  private async writeToClipboard(clip: Clip): Promise<void> {
    if (clip.data === undefined) {
      // Spooled clips are too large to hand to a desktop clipboard tool in one piece.
      this.options.log.info({ clip: clip.id.slice(0, 16), size: clip.size }, 'large clip kept in the spool; available through clipsync paste');
      return;
    }
    try {
      const outcome = await this.options.backend.write({ ...metaOf(clip), data: clip.data });
      if (outcome === 'written') this.watcher?.noteWritten(clip.data);
      else this.options.log.debug({ mime: clip.mime }, 'clipboard cannot hold this type; available through clipsync paste');
    } catch (err) {
      this.options.log.warn({ reason: messageOf(err) }, 'cannot write the system clipboard; the clip is still available through clipsync paste');
    }
  }
}

/** Closes after which the peer is expected back: going away, cut, silent, try again later. */
function isTransientClose(code: number): boolean {
  return code === 1001 || code === 1006 || code === 1011 || code === 1012 || code === 1013 || code === CloseCode.heartbeatTimeout;
}

function bodyOf(body: ClipBody): { data: Buffer } | { file: string } {
  return body.data !== undefined ? { data: body.data } : { file: body.file };
}

function readMeta(h: Record<string, unknown>): ClipMeta {
  const id = field.string(h, 'id', 64);
  if (!/^[0-9a-f]{64}$/.test(id)) throw malformed('clip id must be 64 hex digits');
  const mime = field.string(h, 'mime', MAX_MIME_LENGTH);
  if (!isValidMime(mime)) throw malformed('clip mime type is not a media type');
  return { id, mime, size: field.integer(h, 'size'), ts: field.integer(h, 'ts'), origin: field.string(h, 'origin', 128) };
}
