import { systemClock, type Clock } from '../core/clock.js';
import { fail, messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { CloseCode } from '../wire/close-codes.js';
import type { Frame } from '../wire/frame.js';
import { assembleClip, clipTree, holdsFilesHere, isLocal, mainFormat, metaOf, sameContent, type Clip, type ClipFormat } from './clip.js';
import { clipFieldsOf, type ClipBody } from './clip-body.js';
import { DeliveryTracker, type DeliveryResult } from './delivery.js';
import { DeliveryGrace } from './delivery-grace.js';
import { HybridClock } from './hybrid-clock.js';
import { decodeSyncMessage } from './messages.js';
import type { ClipboardPort, PeerSession, SpoolPort } from './ports.js';
import { ReceiveSide } from './receive-side.js';
import { SendSide } from './send-side.js';
import { SessionState } from './session-state.js';
import { clipForPeer, declineReason, receivedFromPeer, type PeerRef, type SyncGate } from './sync-gate.js';
import type { TransferBoard } from './transfer-board.js';

export interface SyncOptions {
  ownFingerprint: string;
  /** Where received clips meet this machine's clipboard. */
  clipboard: ClipboardPort;
  maxClipBytes: number;
  /** Bytes a receiver lets a sender have in flight per transfer. */
  windowBytes: number;
  /** Clips larger than this are received into the spool rather than memory. */
  spoolThresholdBytes: number;
  /**
   * Received clips larger than this are announced: made current without their bytes, which
   * are fetched from the peer only when the clip is pasted (`fetch`). Without it, every clip
   * moves eagerly (the daemon sets it from config `eagerLimitBytes`).
   */
  eagerLimitBytes?: number;
  spool?: SpoolPort;
  /** How long `copy --wait` keeps waiting for a peer that disconnected mid-transfer to return. */
  deliveryGraceMs: number;
  transfers: TransferBoard;
  log: Logger;
  /** Time for the grace period, the partial-transfer expiry and the hybrid clock; the system clock by default. */
  clock?: Clock;
  /** The pause and the per-peer rules, asked before every send and apply; without it, everything travels. */
  gate?: SyncGate;
  /**
   * Hears each clip that became current and may be remembered (history): copies made here
   * (not while paused, not secret ones) and clips received or announced, with the peer's name.
   */
  onClip?: (clip: Clip, from: PeerRef | null) => void;
}

/** What `copyLocal` is told about a copy besides its bytes. */
export interface CopyOptions {
  /** Marked secret by a password manager (sent only with `sendSensitive`): never remembered. */
  sensitive?: boolean;
}

/** A peer the clip is on its way to, and how that will end. */
export interface PendingDelivery {
  fingerprint: string;
  name: string;
  result: Promise<DeliveryResult>;
}

/** A local copy: the bytes, or a spool file already named by its content id. */
/** A local copy's bytes; a spooled one comes with the id and leaf hashes it was stored under. */
export type LocalBody = ClipBody & { id?: string; size?: number; leaves?: Buffer };

/**
 * The clip model: the current clip, last-writer-wins ordering, dedupe by content id, and
 * fan-out to every connected peer. A clip travels OFFER → WANT(offset, window) → DATA… (with
 * CREDIT back) → END → ACK; the receiver applies it only after every byte arrived and the
 * content hash matched, so a partly received clip is never applied. A transfer cut by a
 * disconnect resumes from what the receiver kept. Clips go to directly connected peers
 * only, never relayed, so nothing can loop.
 */
export class SyncEngine {
  private current: Clip | undefined;
  private readonly sessions = new Map<string, SessionState>();
  private readonly deliveries = new DeliveryTracker();
  private readonly hlc: HybridClock;
  private readonly grace: DeliveryGrace;
  private readonly sending: SendSide;
  private readonly receiving: ReceiveSide;
  /** Fetches of announced clips in progress, by clip id: a second paste shares the first's transfer. */
  private readonly fetching = new Map<string, Promise<Clip>>();
  /** The last name each peer had, for the message that a clip's holder is not connected. */
  private readonly peerNames = new Map<string, string>();
  /** A clip copied while paused: not offered later either, not even to a peer that connects after the pause. */
  private withheld: string | undefined;

  constructor(private readonly options: SyncOptions) {
    const clock = options.clock ?? systemClock;
    const now = (): number => clock.now();
    this.hlc = new HybridClock(now);
    this.grace = new DeliveryGrace(this.deliveries, options.deliveryGraceMs, (fp) => this.sessions.get(fp)?.outgoing?.isStreaming === true, clock);
    this.sending = new SendSide(this.deliveries, options.transfers, options.log, () => this.current, (state, clip) => {
      const verdict = clipForPeer(options.gate, state, clip);
      return 'clip' in verdict && verdict.clip.id === clip.id && clip.id !== this.withheld;
    });
    // A clip narrowed to some of its formats is built in memory; larger ones travel whole or not at all.
    const inMemoryBytes = (): number => Math.min(options.spoolThresholdBytes, options.eagerLimitBytes ?? Infinity);
    this.receiving = new ReceiveSide({
      maxClipBytes: options.maxClipBytes,
      windowBytes: options.windowBytes,
      spoolThresholdBytes: options.spoolThresholdBytes,
      eagerLimitBytes: options.eagerLimitBytes ?? Infinity,
      spool: options.spool,
      transfers: options.transfers,
      log: options.log,
      clock: this.hlc,
      now,
      current: () => this.current,
      decline: (state, meta) => declineReason(options.gate, state, meta, inMemoryBytes()),
      apply: async (received, acknowledge, state) => {
        const clip = receivedFromPeer(options.gate, state, received);
        this.setCurrent(clip);
        await acknowledge();
        options.onClip?.(clip, { fingerprint: state.fingerprint, name: state.name });
        // Not waited for: a paste waiting on this clip (a fetch) has it now, whatever the desktop takes.
        void this.writeToClipboard(clip);
      },
    });
  }

  /** New limits from a config reload: the next copy and the next offer are checked against them. */
  setLimits(limits: { maxClipBytes: number; eagerLimitBytes: number }): void {
    this.options.maxClipBytes = limits.maxClipBytes;
    this.options.eagerLimitBytes = limits.eagerLimitBytes;
    this.receiving.setLimits(limits);
  }

  currentClip(): Clip | undefined {
    return this.current;
  }

  /**
   * A copy made on this machine (`clipsync copy`, or the system clipboard changing). `body`
   * is the bytes, or a spool file already named by its content id. Returns the clip and,
   * per connected peer, a promise of how delivery went.
   */
  async copyLocal(body: LocalBody, formats: ClipFormat[], source: 'cli' | 'clipboard', options: CopyOptions = {}): Promise<{ clip: Clip; deliveries: PendingDelivery[] }> {
    const size = body.data?.length ?? body.size ?? 0;
    if (size > this.options.maxClipBytes) {
      throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the clip is ${size} bytes, over the limit of ${this.options.maxClipBytes} bytes`, {
        hint: 'raise maxClipBytes in config.json on every machine to send larger clips',
      });
    }
    const { id, leaves } = body.data !== undefined ? clipTree(formats, body.data) : { id: body.id!, leaves: body.leaves };
    const mime = mainFormat(formats).mime;
    let clip: Clip;
    if (this.current !== undefined && sameContent({ id }, this.current) && isLocal(this.current)) {
      clip = this.current; // the same content again: nothing new to order or store
    } else if (this.current !== undefined && sameContent({ id }, this.current)) {
      // The bytes of a clip only announced here, copied here too: the same clip, now with its body.
      const { from: _from, ...announced } = this.current;
      clip = { ...announced, ...clipFieldsOf(body) };
      this.setCurrent(clip);
    } else {
      clip = { id, formats, mime, size, ts: this.hlc.now(), origin: this.options.ownFingerprint, ...clipFieldsOf(body), ...(leaves !== undefined ? { leaves } : {}) };
      this.setCurrent(clip);
      if (source === 'cli') await this.writeToClipboard(clip);
      this.options.log.info({ clip: id.slice(0, 16), size, mime, formats: formats.map((f) => f.mime), source }, 'local copy');
    }
    // Copied while paused: kept here only, and never offered later (a peer that connects after
    // the pause gets nothing until the next copy).
    const paused = this.options.gate?.pausedReason() !== undefined;
    this.withheld = paused ? clip.id : undefined;
    if (!paused && options.sensitive !== true) this.options.onClip?.(clip, null);
    const deliveries = [...this.sessions.values()].map((state) => this.deliver(state, clip));
    return { clip, deliveries };
  }

  /** Offers a clip to one peer as its rules have it (maybe narrowed), or says why it was skipped. */
  private deliver(state: SessionState, clip: Clip): PendingDelivery {
    const { fingerprint, name } = state;
    const verdict = clipForPeer(this.options.gate, state, clip);
    if ('skip' in verdict) return { fingerprint, name, result: Promise.resolve({ fingerprint, name, status: 'skipped', detail: verdict.skip }) };
    const result = this.deliveries.wait(verdict.clip.id, fingerprint);
    void this.sending.offer(state, verdict.clip);
    return { fingerprint, name, result };
  }

  /** What the system clipboard held when the daemon started: kept, but older than any copy. */
  adoptInitial(parts: { mime: string; data: Buffer }[]): void {
    if (this.current !== undefined || parts.length === 0) return;
    this.current = { ...assembleClip(parts), ts: 0, origin: this.options.ownFingerprint };
  }

  /** The desktop came back (a restarted X server): offer it the current clip again. */
  async restoreToClipboard(): Promise<void> {
    if (this.current !== undefined) await this.writeToClipboard(this.current);
  }

  /** Starts syncing with a newly authenticated peer; replaces an older session with the same key. */
  attach(session: PeerSession): void {
    const state = new SessionState(session);
    this.peerNames.set(session.fingerprint, session.name);
    const previous = this.sessions.get(session.fingerprint);
    if (previous !== undefined) void this.stopSession(previous);
    this.sessions.set(session.fingerprint, state);
    session.channel.on('frame', (frame) => {
      if (this.sessions.get(session.fingerprint) !== state) return;
      try {
        this.onFrame(state, frame);
      } catch (err) {
        state.protocolError(err, this.options.log);
      }
    });
    session.channel.once('close', (info) => this.detach(state, info.code));
    // Only a clip whose bytes are here: an announced one is the origin's to offer. Not one
    // copied while paused, and only as this peer's rules allow.
    const current = this.current;
    if (current !== undefined && current.id === this.withheld) this.options.log.debug({ peer: state.fingerprint }, 'current clip was copied while paused; not offered to a new peer');
    else if (current !== undefined && isLocal(current)) {
      const verdict = clipForPeer(this.options.gate, state, current);
      if ('clip' in verdict) void this.sending.offer(state, verdict.clip);
      else this.options.log.debug({ peer: state.fingerprint, reason: verdict.skip }, 'current clip not offered to a new peer');
    }
  }

  /**
   * The bytes of an announced clip (someone pastes it): asks the peer that announced it for
   * them and resolves with the whole clip once it is verified. It then becomes current with
   * its body, unless something newer became current meanwhile (the paste still gets it).
   * A clip held here already resolves at once; concurrent fetches of one clip share one
   * transfer. Rejects with CLIPSYNC_ERR_NOT_FETCHED when the peer is not connected, or with
   * why the transfer failed; a partly received clip is never applied.
   */
  fetch(id: string): Promise<Clip> {
    const current = this.current;
    if (current?.id === id && isLocal(current)) return Promise.resolve(current);
    const pending = this.fetching.get(id);
    if (pending !== undefined) return pending;
    if (current?.id !== id) {
      return Promise.reject(
        fail('CLIPSYNC_ERR_NOT_FETCHED', `clip ${id.slice(0, 16)}… is no longer the current clip`, { hint: 'paste again to get the current one' }),
      );
    }
    return this.fetchAnnounced(current);
  }

  /**
   * The bytes of any announced clip, current or not (`history get` of an older one): asked of
   * the peer that announced it, which gives them only while it still holds that clip.
   */
  fetchAnnounced(announced: Clip): Promise<Clip> {
    const id = announced.id;
    if (isLocal(announced)) return Promise.resolve(announced);
    const pending = this.fetching.get(id);
    if (pending !== undefined) return pending;
    const current = announced;
    const holder = current.from ?? current.origin;
    const state = this.sessions.get(holder);
    if (state === undefined || !state.isLive) {
      const name = this.peerNames.get(holder);
      const who = name === undefined || name === '' ? holder : `${name} (${holder})`;
      return Promise.reject(
        fail('CLIPSYNC_ERR_NOT_FETCHED', `the clip (${current.size} bytes) is still on ${who}, which is not connected`, {
          hint: `connect ${name || 'that peer'} (clipsync peers shows its state), then paste again`,
        }),
      );
    }
    this.options.log.info({ peer: holder, clip: id.slice(0, 16), size: current.size }, 'fetching an announced clip');
    const fetched = this.receiving.fetch(state, metaOf(current)).finally(() => this.fetching.delete(id));
    this.fetching.set(id, fetched);
    return fetched;
  }

  /** Stops every transfer, keeping partial ones for a resume after restart. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((state) => this.stopSession(state)));
    this.grace.stop();
  }

  private onFrame(state: SessionState, frame: Frame): void {
    const message = decodeSyncMessage(frame);
    const onError = (err: unknown): void => state.protocolError(err, this.options.log);
    switch (message.type) {
      case 'offer':
        return void this.receiving.onOffer(state, message.meta).catch(onError);
      case 'want':
        return this.sending.onWant(state, message.id, message.offset, message.window, message.restart === true);
      case 'credit':
        return this.sending.onCredit(state, message.id, message.bytes);
      case 'data':
        return this.receiving.onData(state, message.id, message.offset, message.body);
      case 'end':
        return void this.receiving.onEnd(state, message.id).catch(onError);
      case 'ack':
        return this.sending.onAck(state, message.id, message.status, message.reason);
      case 'cancel':
        return this.receiving.onCancel(state, message.id);
    }
  }

  private detach(state: SessionState, closeCode: number): void {
    void this.stopSession(state);
    if (this.sessions.get(state.fingerprint) !== state) return; // replaced by a newer connection
    this.sessions.delete(state.fingerprint);
    const { fingerprint, name } = state;
    // A lost network or a restarting peer comes back and resumes; a refusal or a tampered
    // channel (4001, 4005, 4008…) is no reason to keep `copy --wait` hoping.
    if (isTransientClose(closeCode)) this.grace.peerDropped(fingerprint, name);
    else this.deliveries.failPeer(fingerprint, name, 'disconnected before it had the clip');
  }

  private async stopSession(state: SessionState): Promise<void> {
    state.end();
    this.sending.stop(state);
    await this.receiving.stop(state);
  }

  private setCurrent(clip: Clip): void {
    const previous = this.current;
    this.current = clip;
    if (holdsFilesHere(clip)) this.options.spool?.pin(clip.id);
    if (previous !== undefined && holdsFilesHere(previous) && previous.id !== clip.id) this.options.spool?.unpin(previous.id);
  }

  /**
   * Puts the clip on the desktop unless something newer became current meanwhile: a copy
   * made on this machine while a received clip was verified must not be overwritten by it.
   */
  private async writeToClipboard(clip: Clip): Promise<void> {
    try {
      const outcome = await this.options.clipboard.write(clip, () => this.current === clip);
      if (outcome === 'unsupported') this.options.log.debug({ formats: clip.formats.map((f) => f.mime) }, 'clipboard cannot hold these types; available through clipsync paste');
      else if (outcome === 'superseded') this.options.log.debug({ clip: clip.id.slice(0, 16) }, 'a newer copy came first; not put on the clipboard');
    } catch (err) {
      this.options.log.warn({ reason: messageOf(err) }, 'cannot write the system clipboard; the clip is still available through clipsync paste');
    }
  }
}

/** Closes after which the peer is expected back: going away, cut, silent, try again later. */
function isTransientClose(code: number): boolean {
  return code === 1001 || code === 1006 || code === 1011 || code === 1012 || code === 1013 || code === CloseCode.heartbeatTimeout;
}
