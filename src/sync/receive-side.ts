import { fail, messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isNewer, metaOf, sameContent, type Clip, type ClipMeta } from './clip.js';
import { MemorySink, clipFieldsOf, type ClipBody, type IncomingSink } from './clip-body.js';
import type { HybridClock } from './hybrid-clock.js';
import { PartialTransfers } from './partials.js';
import type { FilesIncomingSink, SpoolPort } from './ports.js';
import { LEAF_BYTES } from '../content/content-hash.js';
import { fileEndsOnceKnown, isFilesMeta, type FileManifest } from '../files/manifest.js';
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
  /** Clips larger than this are announced (made current without their bytes) and fetched only when pasted. */
  eagerLimitBytes: number;
  spool: SpoolPort | undefined;
  transfers: TransferBoard;
  log: Logger;
  clock: HybridClock;
  /** Wall-clock milliseconds, for the future-skew check. */
  now: () => number;
  /** The clip this daemon holds now. */
  current: () => Clip | undefined;
  /**
   * A verified clip that won, or an announced one: make it current, `acknowledge` it to the
   * sender, then put it on the clipboard (the sender's `copy --wait` need not wait for the desktop).
   */
  apply: (clip: Clip, acknowledge: () => Promise<void>, from: SessionState) => Promise<void>;
  /** Why a clip from this peer is not taken now (paused, its rules), or undefined to take it. */
  decline?: (from: SessionState, meta: ClipMeta) => string | undefined;
}

/** Someone waiting for a transfer to end: a fetch (a paste of an announced clip). */
interface Waiter {
  resolve: (clip: Clip) => void;
  reject: (err: unknown) => void;
}

/**
 * The receiving half of every session: decide on an OFFER (have it, stale, too big, too far
 * in the future, or want it), store DATA in order, and apply the clip only after END, once
 * every byte arrived and the content id matched — a partly received clip is never applied.
 */
export class ReceiveSide {
  private readonly partials: PartialTransfers;
  /** Incoming transfers being suspended after a disconnect, by clip id. */
  private readonly suspending = new Map<string, Promise<void>>();
  /** Fetches waiting on an incoming transfer: settled whichever way the transfer ends. */
  private readonly waiters = new Map<Incoming, Waiter[]>();

  constructor(private readonly options: ReceiveOptions) {
    this.partials = new PartialTransfers(options.now);
  }

  setLimits(limits: { maxClipBytes: number; eagerLimitBytes: number }): void {
    this.options.maxClipBytes = limits.maxClipBytes;
    this.options.eagerLimitBytes = limits.eagerLimitBytes;
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
    if (state.incoming?.meta.id === meta.id) return; // already receiving it (or fetching it)
    if (sameContent(meta, current())) {
      // Held only as an announcement (its bytes still on the peer): still announced, not had.
      const held = current()!;
      return state.ack(meta.id, held.data !== undefined || held.file !== undefined ? 'have' : 'announced');
    }
    if (!isNewer(meta, current())) return state.ack(meta.id, 'stale');
    const declined = this.options.decline?.(state, meta);
    if (declined !== undefined) {
      log.info({ peer: state.fingerprint, clip: meta.id.slice(0, 16), reason: declined }, 'declined a clip');
      return state.ack(meta.id, 'declined', declined);
    }
    if (meta.size > this.options.maxClipBytes) {
      const reason = `clip of ${meta.size} bytes is over ${this.options.maxClipBytes}, the receiver's limit`;
      log.warn({ peer: state.fingerprint, clip: meta.id.slice(0, 16), size: meta.size }, 'refused an oversized clip');
      return state.ack(meta.id, 'rejected', reason);
    }
    const lazy = meta.size > this.options.eagerLimitBytes;
    if (state.openingOffer === meta.id) return; // the same OFFER again while its sink opens
    state.openingOffer = meta.id;
    try {
      await this.receive(state, meta, lazy);
    } finally {
      if (state.openingOffer === meta.id) state.openingOffer = undefined;
    }
  }

  /** An OFFER that passed the checks: receive it, or make it current as an announcement. */
  private async receive(state: SessionState, meta: ClipMeta, lazy: boolean): Promise<void> {
    const { log } = this.options;
    let sink: IncomingSink | undefined;
    try {
      sink = await this.startSink(state, meta);
    } catch (err) {
      // An announcement needs no storage: a clip that cannot be stored now may be fetched later.
      // A files clip does: its manifest is fetched and kept even when its files are not.
      if (!lazy || isFilesMeta(meta)) {
        log.warn({ peer: state.fingerprint, clip: meta.id.slice(0, 16), reason: messageOf(err) }, 'cannot receive a clip');
        return state.ack(meta.id, 'rejected', `receiver cannot store the clip: ${messageOf(err)}`);
      }
    }
    if (state.latestOffer !== meta.id) {
      // A newer offer from this peer came in while the sink opened: the sender replaced this
      // clip with that one, so only that one is asked for (or announced).
      await sink?.suspend();
      return;
    }
    if (isFilesMeta(meta)) {
      if (sink === undefined) return; // refused above (a files clip needs its directory even to be announced)
      if (lazy && sink.offset <= manifestLeavesEnd(meta)) return this.announceFiles(state, meta, sink as FilesIncomingSink);
    }
    if (lazy && (sink === undefined || sink.offset === 0)) {
      // Over the eager limit with nothing of it here yet: made current without its bytes,
      // which cross the network only if someone pastes it (SyncEngine.fetch). A part left by
      // an interrupted transfer is resumed instead, as any other clip would be.
      await sink?.discard();
      return this.announce(state, meta);
    }
    if (sink === undefined) return;
    // A fetch may have begun while the sink opened: this offer is newer, and the sender has
    // replaced that clip with it, so it takes over.
    await this.supersede(state);
    const incoming = this.begin(state, meta, sink);
    if (incoming === undefined) return sink.suspend(); // the session went away while the sink opened
    await incoming.request().catch(() => undefined);
  }

  /**
   * A files clip over the eager limit: announced like any large clip, but with its manifest,
   * so the desktop can offer the files' local names at once. The manifest is the clip's first
   * bytes; unless an earlier try kept it, they are asked for with a window that covers just
   * their leaves (rounded up to whole DATA frames), checked, and kept with the part, from
   * which a paste later resumes. docs/PROTOCOL.md §5.6.
   */
  private async announceFiles(state: SessionState, meta: ClipMeta, sink: FilesIncomingSink): Promise<void> {
    const announce = (manifest: FileManifest): Promise<void> => this.announce(state, meta, { manifest, roots: sink.roots! });
    if (sink.manifest !== undefined) {
      await sink.suspend();
      return announce(sink.manifest);
    }
    await this.supersede(state);
    const end = manifestLeavesEnd(meta);
    const frame = state.session.channel.maxBodyBytes;
    const window = Math.min(meta.size, Math.ceil(end / frame) * frame);
    const incoming = this.begin(state, meta, sink, {
      window,
      prefix: {
        end,
        reached: () => {
          if (!state.stillReceiving(incoming!)) return;
          state.incoming = undefined;
          incoming!.handle.end('completed', 'manifest fetched; the files move when pasted');
          void incoming!
            .suspend()
            .then(() => announce(sink.manifest!))
            .catch((err: unknown) => state.protocolError(err, this.options.log));
        },
      },
    });
    if (incoming === undefined) return sink.suspend();
    await incoming.request().catch(() => undefined);
  }

  /** Makes the clip current without its bytes (a files clip with its manifest), and ACKs `announced`. */
  private async announce(state: SessionState, meta: ClipMeta, files?: Clip['files']): Promise<void> {
    const clip: Clip = { ...metaOf(meta), from: state.fingerprint, ...(files !== undefined ? { files } : {}) };
    const what = { peer: state.fingerprint, clip: meta.id.slice(0, 16), size: meta.size, from: state.name };
    if (files === undefined) this.options.log.info({ ...what, formats: meta.formats.map((f) => f.mime) }, 'clip announced');
    else this.options.log.info({ ...what, files: files.manifest.count }, 'files clip announced');
    await this.options.apply(clip, () => state.ack(meta.id, 'announced'), state);
  }

  /**
   * A paste of an announced clip: asks `state`'s peer for its bytes (WANT, without an OFFER on
   * this connection) through the same sink, verification and progress as any transfer, and
   * resolves with the clip once it is verified (and applied, if it is still the newest).
   * Joins a transfer of the same clip already in progress on this connection.
   */
  async fetch(state: SessionState, meta: ClipMeta): Promise<Clip> {
    if (state.incoming?.meta.id === meta.id) return this.waitFor(state.incoming);
    // Another clip is on its way from that peer (newer than this one): it must not be dropped
    // for a paste of an older one; the paste fails now and can be tried again.
    if (state.incoming !== undefined) throw notFetched(state, 'it is sending a newer clip right now; paste again when that has arrived');
    const sink = await this.openSink(meta);
    const incoming = this.begin(state, meta, sink);
    if (incoming === undefined) {
      await sink.suspend();
      throw notFetched(state, 'it disconnected (or another transfer began) before the clip could be asked for');
    }
    const done = this.waitFor(incoming);
    await incoming.request().catch(() => undefined); // a closed channel ends the transfer, and `done` with it
    return done;
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
    this.settle(incoming, notFetched(state, 'it cancelled the transfer (it no longer holds this clip, or cannot read it)'));
    void incoming.discard();
  }

  async onEnd(state: SessionState, id: string): Promise<void> {
    const incoming = state.incoming;
    if (incoming === undefined || incoming.meta.id !== id) return;
    if (incoming.awaitingRestart) return; // the end of the stream it asked to restart, not of this one
    const { meta } = incoming;
    const log = this.options.log.child({ peer: state.fingerprint, clip: id.slice(0, 16) });
    let body: ClipBody;
    try {
      body = await incoming.finish();
    } catch (err) {
      // Cancelled, superseded or disconnected while its last writes were settling: the bytes
      // were dropped on purpose and whoever waited was told then, so this is no failure to report.
      if (!state.stillReceiving(incoming)) {
        log.debug({ reason: messageOf(err) }, 'a transfer that ended early was not finished');
        return;
      }
      state.incoming = undefined;
      log.warn({ reason: messageOf(err) }, 'clip not applied');
      incoming.handle.end('failed', messageOf(err));
      this.settle(incoming, notFetched(state, `the bytes failed verification: ${messageOf(err)}`));
      return state.ack(id, 'rejected', messageOf(err));
    }
    if (!state.stillReceiving(incoming)) return; // superseded or disconnected while verifying (and its waiters told)
    state.incoming = undefined;
    incoming.handle.end('completed');
    const clip: Clip = { ...metaOf(meta), ...clipFieldsOf(body) };
    const current = this.options.current();
    if (!isNewer(meta, current) && !sameContent(meta, current)) {
      // Something newer became current meanwhile: a paste waiting for this clip still gets it.
      this.settle(incoming, clip);
      return state.ack(id, 'stale');
    }
    // Paused (or the rules changed) while it travelled: not applied, unless a paste asked for it.
    const declined = this.waiters.has(incoming) ? undefined : this.options.decline?.(state, meta);
    if (declined !== undefined) {
      log.info({ reason: declined }, 'declined a received clip');
      return state.ack(id, 'declined', declined);
    }
    log.info({ size: meta.size, mime: meta.mime, formats: meta.formats.map((f) => f.mime), origin: meta.origin, from: state.name }, 'clip received');
    await this.options.apply(clip, () => state.ack(id, 'applied'), state);
    this.settle(incoming, clip);
  }

  /** The session ended: what arrived is kept for a resume (in the spool, or in memory here). */
  async stop(state: SessionState): Promise<void> {
    const incoming = state.incoming;
    state.incoming = undefined;
    if (incoming === undefined) return;
    incoming.handle.end('interrupted', 'disconnected');
    this.settle(incoming, notFetched(state, 'it disconnected before the whole clip arrived; paste again once it is back to resume'));
    // The peer's next connection may offer the clip again at once: its sink opens only after
    // this one has let go of the clip (the spool takes one transfer of an id at a time).
    const suspending = incoming.suspend();
    this.suspending.set(incoming.meta.id, suspending);
    await suspending.finally(() => {
      if (this.suspending.get(incoming.meta.id) === suspending) this.suspending.delete(incoming.meta.id);
    });
    if (incoming.sink instanceof MemorySink && incoming.sink.offset > 0) this.partials.keep(incoming.meta, incoming.sink);
  }

  /**
   * Makes room for a transfer of `meta` on this connection (one per peer and direction: it
   * replaces an older one) and opens its sink, which may already hold part of the clip.
   */
  private async startSink(state: SessionState, meta: ClipMeta): Promise<IncomingSink> {
    await this.supersede(state);
    return this.openSink(meta);
  }

  /** Drops the transfer in progress from this peer, if any: a newer clip replaces it. */
  private async supersede(state: SessionState): Promise<void> {
    const older = state.incoming;
    if (older === undefined) return;
    state.incoming = undefined;
    older.handle.end('cancelled', 'superseded by a newer clip');
    this.settle(older, notFetched(state, 'it offered a newer clip before this one arrived'));
    await older.discard();
  }

  /** The transfer itself, once its sink is open; undefined when the session went away (or another transfer began) meanwhile. */
  private begin(state: SessionState, meta: ClipMeta, sink: IncomingSink, prefix?: { window: number; prefix: { end: number; reached: () => void } }): Incoming | undefined {
    if (!state.isLive || state.incoming !== undefined) return undefined;
    const handle = this.options.transfers.start({
      id: meta.id,
      direction: 'receive',
      peer: state.fingerprint,
      name: state.name,
      mime: meta.mime,
      total: meta.size,
      resumedFrom: sink.offset,
      ...(isFilesMeta(meta) ? { fileEnds: fileEndsOnceKnown(() => (sink as FilesIncomingSink).manifest, meta.formats[0]!.size) } : {}),
    });
    const incoming = new Incoming(
      meta,
      sink,
      state.session.channel,
      prefix?.window ?? this.options.windowBytes,
      handle,
      (err) => void this.refuse(state, incoming, messageOf(err)),
      (offset, reason) => this.options.log.warn({ peer: state.fingerprint, clip: meta.id.slice(0, 16), offset, reason }, 'a leaf of the clip failed its check; asking for it again'),
      prefix?.prefix,
    );
    state.incoming = incoming;
    if (sink.offset > 0) this.options.log.info({ peer: state.fingerprint, clip: meta.id.slice(0, 16), offset: sink.offset }, 'resuming a transfer');
    return incoming;
  }

  private waitFor(incoming: Incoming): Promise<Clip> {
    return new Promise((resolve, reject) => {
      this.waiters.set(incoming, [...(this.waiters.get(incoming) ?? []), { resolve, reject }]);
    });
  }

  /** The transfer ended: its waiters get the clip, or the error. Only the first outcome counts. */
  private settle(incoming: Incoming, outcome: Clip | Error): void {
    const waiting = this.waiters.get(incoming);
    this.waiters.delete(incoming);
    for (const waiter of waiting ?? []) {
      if (outcome instanceof Error) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  private async openSink(meta: ClipMeta): Promise<IncomingSink> {
    await this.suspending.get(meta.id)?.catch(() => undefined);
    const { spool, spoolThresholdBytes } = this.options;
    if (isFilesMeta(meta)) {
      if (spool?.beginFiles === undefined) throw fail('CLIPSYNC_ERR_SPOOL', 'this daemon keeps no received files');
      return spool.beginFiles(meta);
    }
    if (spool !== undefined && meta.size > spoolThresholdBytes) return spool.beginIncoming(meta);
    return this.partials.take(meta.id) ?? new MemorySink(meta);
  }

  /** A write failed on our side: tell the sender now rather than at END, and keep nothing. */
  private async refuse(state: SessionState, incoming: Incoming, reason: string): Promise<void> {
    if (!state.stillReceiving(incoming)) return;
    state.incoming = undefined;
    this.options.log.warn({ peer: state.fingerprint, clip: incoming.meta.id.slice(0, 16), reason }, 'cannot store an incoming clip; refused it');
    incoming.handle.end('failed', reason);
    this.settle(incoming, notFetched(state, `storing it failed: ${reason}`));
    await incoming.discard();
    await state.ack(incoming.meta.id, 'rejected', `receiver cannot store the clip: ${reason}`);
  }
}

/** Where a files clip's manifest ends, rounded up to whole leaves: what must arrive for it to be checked. */
function manifestLeavesEnd(meta: ClipMeta): number {
  return Math.min(meta.size, Math.max(1, Math.ceil(meta.formats[0]!.size / LEAF_BYTES)) * LEAF_BYTES);
}

/** Why a fetch failed, naming the peer the clip was asked of. */
function notFetched(state: SessionState, what: string): Error {
  return fail('CLIPSYNC_ERR_NOT_FETCHED', `the clip was not fetched from ${state.name || state.fingerprint}: ${what}`);
}
