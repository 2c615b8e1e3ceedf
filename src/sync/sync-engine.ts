import { EventEmitter } from 'node:events';
import type { ClipboardBackend, ClipboardContent } from '../clipboard/backend.js';
import type { ClipboardWatcher } from '../clipboard/watcher.js';
import { fail, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Connection } from '../protocol/connection.js';
import { FrameType, field, malformed, type Frame } from '../protocol/frame.js';
import { StreamingHash } from '../secure/sodium.js';
import { MAX_MIME_LENGTH, contentId, isValidMime, isNewer, metaOf, sameContent, type Clip, type ClipMeta } from './clip.js';
import { DeliveryTracker, type DeliveryResult } from './delivery.js';
import { HybridClock } from './hybrid-clock.js';

/** How far ahead of our wall clock a peer's timestamp may be; the hybrid clock absorbs less. */
const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

/** A connected, authenticated peer as the sync layer sees it. */
export interface PeerLink {
  fingerprint: string;
  name: string;
  connection: Connection;
}

export interface SyncOptions {
  ownFingerprint: string;
  backend: ClipboardBackend;
  maxClipBytes: number;
  /** Bytes per DATA frame. */
  chunkBytes: number;
  log: Logger;
  clock?: HybridClock;
}

interface Outgoing {
  clip: Clip;
  cancelled: boolean;
}

interface Incoming {
  meta: ClipMeta;
  chunks: Buffer[];
  received: number;
  hasher: StreamingHash;
}

interface LinkState {
  link: PeerLink;
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
 * fan-out to every connected peer. A clip travels OFFER → WANT → DATA… → END → ACK; the
 * receiver applies it only after every byte arrived and the content hash matched, so a
 * partly received clip is never applied. Clips are sent to directly connected peers only,
 * never relayed, so nothing can loop.
 */
export class SyncEngine extends EventEmitter<SyncEvents> {
  private current: Clip | undefined;
  private readonly links = new Map<string, LinkState>();
  private readonly deliveries = new DeliveryTracker();
  private readonly clock: HybridClock;
  private watcher: ClipboardWatcher | undefined;

  constructor(private readonly options: SyncOptions) {
    super();
    this.clock = options.clock ?? new HybridClock();
  }

  currentClip(): Clip | undefined {
    return this.current;
  }

  /** Lets the engine tell the watcher what it wrote, so received clips are not echoed. */
  useWatcher(watcher: ClipboardWatcher): void {
    this.watcher = watcher;
  }

  /**
   * A copy made on this machine (`clipsync copy`, or the system clipboard changing). Returns
   * the clip and, per connected peer, a promise of how delivery went.
   */
  async copyLocal(data: Buffer, mime: string, source: 'cli' | 'clipboard'): Promise<{ clip: Clip; deliveries: PendingDelivery[] }> {
    if (data.length > this.options.maxClipBytes) {
      throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the clip is ${data.length} bytes, over the limit of ${this.options.maxClipBytes} bytes`, {
        hint: 'raise maxClipBytes in config.json on every machine to send larger clips',
      });
    }
    const id = contentId(data);
    let clip: Clip;
    if (this.current !== undefined && sameContent({ id, mime }, this.current)) {
      clip = this.current; // the same content again: nothing new to order or store
    } else {
      clip = { id, mime, size: data.length, ts: this.clock.now(), origin: this.options.ownFingerprint, data };
      this.current = clip;
      if (source === 'cli') await this.writeToClipboard(clip);
      this.options.log.info({ clip: id.slice(0, 16), size: clip.size, mime, source }, 'local copy');
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
  attach(link: PeerLink): void {
    const state: LinkState = { link, outgoing: undefined, incoming: undefined };
    this.links.set(link.fingerprint, state);
    link.connection.on('frame', (frame) => {
      if (this.links.get(link.fingerprint) !== state) return;
      this.onFrame(state, frame).catch((err: unknown) => {
        this.options.log.warn({ peer: link.fingerprint, reason: messageOf(err) }, 'closing connection after a bad frame');
        const violation = err as { closeCode?: number; reason?: string };
        link.connection.close(violation.closeCode ?? 4000, violation.reason ?? 'protocol error');
      });
    });
    link.connection.once('close', () => this.detach(state));
    if (this.current !== undefined) void this.offer(state, this.current);
  }

  private detach(state: LinkState): void {
    if (state.outgoing) state.outgoing.cancelled = true;
    state.incoming = undefined;
    if (this.links.get(state.link.fingerprint) !== state) return; // replaced by a newer connection
    this.links.delete(state.link.fingerprint);
    this.deliveries.failPeer(state.link.fingerprint, state.link.name, 'disconnected before it had the clip');
  }

  private async offer(state: LinkState, clip: Clip): Promise<void> {
    const previous = state.outgoing;
    if (previous !== undefined && !previous.cancelled && previous.clip.id === clip.id) return; // already on its way
    if (previous !== undefined && previous.clip.id !== clip.id) {
      previous.cancelled = true;
      this.deliveries.settle(previous.clip.id, this.failure(state, 'superseded by a newer clip'));
      await this.sendQuietly(state, FrameType.cancel, { id: previous.clip.id });
    }
    state.outgoing = { clip, cancelled: false };
    await this.sendQuietly(state, FrameType.offer, metaOf(clip));
  }

  private async stream(state: LinkState, outgoing: Outgoing, offset: number): Promise<void> {
    const { clip } = outgoing;
    const { chunkBytes } = this.options;
    for (let at = offset; at < clip.size; at += chunkBytes) {
      if (outgoing.cancelled || !state.link.connection.isOpen) return;
      await this.sendQuietly(state, FrameType.data, { id: clip.id, offset: at }, clip.data.subarray(at, at + chunkBytes));
    }
    if (!outgoing.cancelled) await this.sendQuietly(state, FrameType.end, { id: clip.id });
  }

  private async onFrame(state: LinkState, frame: Frame): Promise<void> {
    const h = frame.header;
    switch (frame.type) {
      case FrameType.offer:
        return this.onOffer(state, readMeta(h));
      case FrameType.want: {
        const id = field.string(h, 'id', 64);
        const offset = field.integer(h, 'offset');
        const outgoing = state.outgoing;
        if (outgoing === undefined || outgoing.clip.id !== id || outgoing.cancelled) {
          return this.sendQuietly(state, FrameType.cancel, { id });
        }
        if (offset > outgoing.clip.size) throw malformed('WANT offset past the end of the clip');
        return this.stream(state, outgoing, offset);
      }
      case FrameType.data:
        return this.onData(state, field.string(h, 'id', 64), field.integer(h, 'offset'), frame.body);
      case FrameType.end:
        return this.onEnd(state, field.string(h, 'id', 64));
      case FrameType.ack:
        return this.onAck(state, field.string(h, 'id', 64), field.string(h, 'status', 16), h['reason']);
      case FrameType.cancel: {
        const id = field.string(h, 'id', 64);
        if (state.incoming?.meta.id === id) state.incoming = undefined;
        return;
      }
      default:
        throw malformed(`frame type ${frame.type} is not expected here`);
    }
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
    state.incoming = { meta, chunks: [], received: 0, hasher: new StreamingHash() };
    await this.sendQuietly(state, FrameType.want, { id: meta.id, offset: 0 });
  }

  private onData(state: LinkState, id: string, offset: number, body: Buffer): void {
    const incoming = state.incoming;
    if (incoming === undefined || incoming.meta.id !== id) return; // a transfer we dropped; its tail is still arriving
    if (offset !== incoming.received) throw malformed(`DATA at offset ${offset}, expected ${incoming.received}`);
    if (incoming.received + body.length > incoming.meta.size) throw malformed('DATA past the announced size');
    // The body is a view of a freshly decrypted buffer that nothing else holds: no copy needed.
    incoming.chunks.push(body);
    incoming.hasher.update(body);
    incoming.received += body.length;
  }

  private async onEnd(state: LinkState, id: string): Promise<void> {
    const incoming = state.incoming;
    if (incoming === undefined || incoming.meta.id !== id) return;
    state.incoming = undefined;
    const { meta } = incoming;
    const log = this.options.log.child({ peer: state.link.fingerprint, clip: id.slice(0, 16) });
    if (incoming.received !== meta.size) {
      log.warn({ received: incoming.received, size: meta.size }, 'clip ended early; not applied');
      return this.ack(state, id, 'rejected', 'clip ended before all its bytes arrived');
    }
    if (incoming.hasher.digest().toString('hex') !== id) {
      log.warn('clip content does not match its id; not applied');
      return this.ack(state, id, 'rejected', 'content hash mismatch');
    }
    if (!isNewer(meta, this.current) && !sameContent(meta, this.current)) return this.ack(state, id, 'stale');
    const clip: Clip = { ...meta, data: Buffer.concat(incoming.chunks, meta.size) };
    this.current = clip;
    log.info({ size: meta.size, mime: meta.mime, from: state.link.name }, 'clip received');
    await this.ack(state, id, 'applied');
    await this.writeToClipboard(clip);
    this.emit('applied', clip, state.link.fingerprint);
  }

  private onAck(state: LinkState, id: string, status: string, reason: unknown): void {
    if (state.outgoing?.clip.id === id) state.outgoing = undefined;
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

  private ack(state: LinkState, id: string, status: 'applied' | 'have' | 'stale' | 'rejected', reason?: string): Promise<void> {
    return this.sendQuietly(state, FrameType.ack, reason === undefined ? { id, status } : { id, status, reason });
  }

  private failure(state: LinkState, detail: string): DeliveryResult {
    return { fingerprint: state.link.fingerprint, name: state.link.name, status: 'failed', detail };
  }

  /** A send on a connection that just closed is not an error here: `detach` settles the waiters. */
  private async sendQuietly(state: LinkState, type: (typeof FrameType)[keyof typeof FrameType], header: object, body?: Buffer): Promise<void> {
    if (!state.link.connection.isOpen) return;
    try {
      await state.link.connection.send(type, header, body);
    } catch {
      // closed while waiting for the socket to drain
    }
  }

  private async writeToClipboard(clip: Clip): Promise<void> {
    try {
      const outcome = await this.options.backend.write(clip);
      if (outcome === 'written') this.watcher?.noteWritten(clip.data);
      else this.options.log.debug({ mime: clip.mime }, 'clipboard cannot hold this type; available through clipsync paste');
    } catch (err) {
      this.options.log.warn({ reason: messageOf(err) }, 'cannot write the system clipboard; the clip is still available through clipsync paste');
    }
  }
}

function readMeta(h: Record<string, unknown>): ClipMeta {
  const id = field.string(h, 'id', 64);
  if (!/^[0-9a-f]{64}$/.test(id)) throw malformed('clip id must be 64 hex digits');
  const mime = field.string(h, 'mime', MAX_MIME_LENGTH);
  if (!isValidMime(mime)) throw malformed('clip mime type is not a media type');
  return { id, mime, size: field.integer(h, 'size'), ts: field.integer(h, 'ts'), origin: field.string(h, 'origin', 128) };
}
