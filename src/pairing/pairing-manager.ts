import { systemClock, type Clock } from '../core/clock.js';
import { fail, messageOf, type ClipsyncError } from '../core/errors.js';
import type { PublicKey } from '../identity/public-key.js';
import type { Logger } from '../core/log.js';
import type { PeerInfo } from '../peers/peer-types.js';
import { CloseCode, ProtocolViolation, describeCloseCode } from '../wire/close-codes.js';
import type { Connection } from '../protocol/connection.js';
import type { Frame } from '../wire/frame.js';
import type { HandshakeResult } from '../secure/handshake.js';
import { formatAddress, parseAddress, type Address } from '../transport/address.js';
import { PairingSession, type PairingResult } from './pairing-session.js';
import { RequestBudget } from './request-budget.js';
import { isAddressSelector, pickBySelector, safePeerName } from './pairing-target.js';
import type { PairCandidate, PairingInfo } from './pairing-types.js';

/**
 * Inbound pairing requests held at once. Each costs a connection, a signature and a line in
 * `pair --pending`; strangers can send them at will, so past this they get 1013.
 */
const MAX_PENDING_INBOUND_PAIRINGS = 8;
/**
 * Inbound pairing requests that may start in a burst, and how fast that allowance comes back:
 * over one default 120 s request a man in the middle gets at most 24 tries at matching its
 * code (see RequestBudget), a chance of about 1 in 40 000.
 */
const PAIRING_REQUEST_BURST = 16;
const PAIRING_REQUEST_REFILL_MS = 15_000;
/** Ended requests remembered, so `--accept` after the end says what happened instead of "unknown". */
const RECENT_KEPT = 32;

/** What pairing needs from the peer table. */
export interface PairingPeers {
  list(): PeerInfo[];
  openPairing(address: Address): Connection;
  addPairedPeer(address: Address, fingerprint: string): void;
}

export interface PairingManagerOptions {
  ownKey: PublicKey;
  peers: PairingPeers;
  isTrusted(fingerprint: string): Promise<boolean>;
  /** Adds a key to trusted_keys under `name` (what `clipsync trust` does) and applies it live. */
  trust(key: PublicKey, name: string): Promise<void>;
  /** Keeps an address that pairing dialed in config.json `peers`, so it is dialed after a restart too. */
  rememberAddress(address: string): Promise<void>;
  timeoutMs: number;
  log: Logger;
  clock?: Clock;
  maxPendingInbound?: number;
}

interface Entry {
  session: PairingSession;
  connection: Connection;
  fingerprint: string;
  name: string;
  address: string;
  direction: 'outbound' | 'inbound';
  /** An address the user typed (not an mDNS announcement): dialed and remembered once paired. */
  typedAddress: Address | undefined;
  /** The other connection for the same key that won (two requests crossed, or a newer one came). */
  supersededBy?: Entry;
  /** Ended because another connection for the same key took over, here or at the peer (4007). */
  replaced?: boolean;
}

/**
 * Every pairing request of the daemon, both ways: starts them (`clipsync pair`), takes the
 * inbound ones from the peer table, lets the user accept or reject by name or fingerprint,
 * and on success trusts the key through the trust store, so the peer table connects the
 * peer as it does any newly trusted one. One request per key; a pairing connection never
 * reaches the sync engine.
 */
export class PairingManager {
  private readonly active = new Map<string, Entry>();
  private readonly recent: Entry[] = [];
  private readonly clock: Clock;
  private readonly maxInbound: number;
  private readonly budget: RequestBudget;
  private stopped = false;

  private readonly listeners = new Set<(request: PairingInfo) => void>();

  constructor(private readonly options: PairingManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxInbound = options.maxPendingInbound ?? MAX_PENDING_INBOUND_PAIRINGS;
    this.budget = new RequestBudget(PAIRING_REQUEST_BURST, PAIRING_REQUEST_REFILL_MS, this.clock);
  }

  /** Peers seen by mDNS whose key is not trusted: what `clipsync pair` offers. */
  candidates(): PairCandidate[] {
    const out: PairCandidate[] = [];
    for (const p of this.options.peers.list()) {
      if (p.state === 'untrusted' && p.fingerprint !== null && p.address !== null) {
        out.push({ name: p.name ?? '', fingerprint: p.fingerprint, address: p.address });
      }
    }
    return out;
  }

  /** Requests still open, either way. */
  pending(): PairingInfo[] {
    return [...this.active.values()].filter((e) => !e.session.isFinal).map((e) => this.info(e));
  }

  /**
   * Handshake hook, run on a pairing HELLO before this side signs: a full house, or a burst of
   * requests, is refused here, cheaply. A new request from a key that already has one
   * replaces it, so needs no slot; it does spend from the budget, as every request does.
   */
  readonly admit = (peer: { fingerprint: string; name: string }): void => {
    if (this.stopped) throw new ProtocolViolation(CloseCode.goingAway, 'peer is shutting down');
    if (this.inboundCount(peer.fingerprint) >= this.maxInbound) {
      throw new ProtocolViolation(CloseCode.tryAgainLater, 'too many pairing requests pending; try again later');
    }
    if (!this.budget.take()) {
      const seconds = Math.ceil(this.budget.waitMs() / 1000);
      throw new ProtocolViolation(CloseCode.tryAgainLater, `too many pairing requests lately; try again in ${seconds} s`);
    }
  };

  /** An authenticated inbound pairing connection from the peer table. */
  onInbound(connection: Connection, peer: HandshakeResult): void {
    // Checked again: several handshakes may have passed `admit` at once.
    if (this.stopped || this.inboundCount(peer.peerKey.fingerprint) >= this.maxInbound) {
      connection.close(CloseCode.tryAgainLater, 'too many pairing requests pending; try again later');
      return;
    }
    this.open(connection, peer, 'inbound', connection.remote, undefined).catch((err: unknown) => {
      this.options.log.error({ err, remote: connection.remote }, 'could not start an inbound pairing');
      connection.close(CloseCode.protocolError, 'internal error');
    });
  }

  /**
   * `clipsync pair NAME|FP|ADDRESS`: dials in pairing mode and resolves once the code is
   * known (or the request ended before that, e.g. `already-paired`).
   */
  async start(selector: string): Promise<PairingInfo> {
    if (this.stopped) throw fail('CLIPSYNC_ERR_PAIRING', 'the daemon is stopping');
    let address: Address;
    let expected: PairCandidate | undefined;
    if (isAddressSelector(selector)) {
      address = parseAddress(selector);
    } else {
      expected = pickBySelector(this.candidates(), selector);
      if (expected === undefined) throw this.unknownCandidate(selector);
      const running = this.active.get(expected.fingerprint);
      if (running !== undefined && !running.session.isFinal) return this.whenShown(running);
      address = parseAddress(expected.address);
    }
    const addressText = formatAddress(address);
    const connection = this.options.peers.openPairing(address);
    let peer: HandshakeResult;
    try {
      peer = await connection.established();
    } catch (err) {
      throw dialFailure(addressText, err);
    }
    const fingerprint = peer.peerKey.fingerprint;
    if (expected !== undefined && fingerprint !== expected.fingerprint) {
      connection.close(CloseCode.untrusted, 'not the key this pairing was asked for');
      throw fail('CLIPSYNC_ERR_PAIRING', `the peer at ${addressText} presented ${fingerprint}, not ${expected.fingerprint} as announced`, {
        hint: 'something else answers at that address; do not pair with it',
      });
    }
    const running = this.active.get(fingerprint);
    if (running !== undefined && running.direction === 'outbound' && !running.session.isFinal) {
      connection.close(CloseCode.normal, 'already pairing');
      return this.whenShown(running);
    }
    const entry = await this.open(connection, peer, 'outbound', addressText, expected === undefined ? address : undefined);
    if (entry !== undefined) return this.whenShown(entry);
    // Closed before it began: when the peer dialed us at the same moment and kept its own
    // connection (4007), that one is the request to show.
    const other = this.active.get(fingerprint);
    if (other !== undefined && !other.session.isFinal) return this.whenShown(other);
    throw fail('CLIPSYNC_ERR_PAIRING', `the connection to ${addressText} closed before pairing began`);
  }

  /** The user compared the codes and said yes; with `wait`, resolves once the request ended. */
  async accept(selector: string, wait: boolean): Promise<PairingInfo> {
    const entry = this.find(selector);
    if (entry.session.code === undefined) {
      throw fail('CLIPSYNC_ERR_PAIRING', `the verification code for ${entry.name} is not known yet`, { hint: 'try again in a moment' });
    }
    entry.session.accept();
    // "paired" is only reported once the key is in trusted_keys.
    if (wait || entry.session.state === 'completing') await entry.session.settled;
    return this.info(entry);
  }

  /**
   * Resolves once a request ends: paired, already paired, rejected, expired or failed. One
   * that ended already (perhaps a moment before this was asked) answers at once.
   */
  async wait(selector: string): Promise<PairingInfo> {
    const ended = this.live(selector) === undefined ? this.lastEnded(selector) : undefined;
    const entry = ended ?? this.find(selector);
    await entry.session.settled;
    return this.info(entry);
  }

  reject(selector: string): PairingInfo {
    const entry = this.find(selector);
    entry.session.reject();
    return this.info(entry);
  }

  /** Daemon stopping: every open request ends (1001), and no new one starts. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.active.values()) entry.connection.close(CloseCode.goingAway, 'peer is shutting down');
  }

  private async open(
    connection: Connection,
    peer: HandshakeResult,
    direction: Entry['direction'],
    address: string,
    typedAddress: Address | undefined,
  ): Promise<Entry | undefined> {
    // The responder speaks first, right after the handshake: hold its frames while trust is read.
    const early: Frame[] = [];
    const hold = (frame: Frame): void => void early.push(frame);
    connection.on('frame', hold);
    const fingerprint = peer.peerKey.fingerprint;
    const trustsPeer = await this.options.isTrusted(fingerprint).catch(() => false);
    connection.off('frame', hold);
    if (!connection.isOpen) return undefined;
    const name = safePeerName(peer.peerName);
    const entry = { connection, fingerprint, name, address, direction, typedAddress } as Entry;
    entry.session = new PairingSession({
      role: direction === 'outbound' ? 'initiator' : 'responder',
      ownKey: this.options.ownKey.blob,
      peerKey: peer.peerKey.blob,
      trustsPeer,
      timeoutMs: this.options.timeoutMs,
      clock: this.clock,
      port: {
        send: (type, header) => void connection.send(type, header).catch(() => undefined),
        close: (code, reason) => connection.close(code, reason),
        trustPeer: async () => {
          if (!(await this.options.isTrusted(fingerprint))) await this.options.trust(peer.peerKey, name);
        },
      },
    });
    connection.on('frame', (frame) => entry.session.onFrame(frame));
    connection.once('close', (info) => entry.session.onClose(info.code, info.reason, info.local));
    entry.session.on('code', (code) => this.onCode(entry, code));
    entry.session.once('settled', (result) => this.onSettled(entry, result));
    entry.session.on('accepted', () => this.changed(entry));
    if (!this.register(entry)) return entry;
    this.changed(entry);
    entry.session.start();
    for (const frame of early) entry.session.onFrame(frame);
    return entry;
  }

  /**
   * One request per key. Two that cross (both users ran `pair` at each other) keep the
   * connection dialed by the smaller fingerprint, as both daemons compute alike (4007 for the
   * other); a newer inbound request replaces an older one from the same key.
   */
  private register(entry: Entry): boolean {
    const existing = this.active.get(entry.fingerprint);
    if (existing === undefined || existing.session.isFinal) {
      this.active.set(entry.fingerprint, entry);
      return true;
    }
    if (existing.direction === 'inbound' && entry.direction === 'inbound') {
      this.active.set(entry.fingerprint, entry);
      existing.supersededBy = entry;
      existing.connection.close(CloseCode.normal, 'replaced by a newer pairing request');
      return true;
    }
    const own = this.options.ownKey.fingerprint;
    const preferred = own < entry.fingerprint ? own : entry.fingerprint;
    const dialerOf = (e: Entry): string => (e.direction === 'outbound' ? own : e.fingerprint);
    const [winner, loser] = dialerOf(entry) === preferred && dialerOf(existing) !== preferred ? [entry, existing] : [existing, entry];
    this.active.set(entry.fingerprint, winner);
    loser.supersededBy = winner;
    loser.connection.close(CloseCode.duplicate, 'duplicate pairing connection');
    return winner === entry;
  }

  /** Waits for the code (or the end), following a request superseded meanwhile to its successor. */
  private async whenShown(entry: Entry): Promise<PairingInfo> {
    const session = entry.session;
    if (session.code === undefined && !session.isFinal) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          session.off('code', done);
          session.off('settled', done);
          resolve();
        };
        session.on('code', done);
        session.on('settled', done);
      });
    }
    if (entry.supersededBy !== undefined) return this.whenShown(entry.supersededBy);
    const outcome = session.outcome;
    if (outcome?.outcome === 'failed') {
      const other = this.active.get(entry.fingerprint);
      if (other !== undefined && other !== entry && !other.session.isFinal) return this.whenShown(other);
      throw fail('CLIPSYNC_ERR_PAIRING', `pairing with ${entry.name} (${entry.fingerprint}) failed: ${outcome.detail ?? 'unknown reason'}`);
    }
    return this.info(entry);
  }

  /** `listener` hears every request that appears or changes state (the watch stream, notifications). */
  onChange(listener: (request: PairingInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(entry: Entry): void {
    if (entry.replaced !== true && entry.supersededBy === undefined) for (const listener of this.listeners) listener(this.info(entry));
  }

  private onCode(entry: Entry, code: string): void {
    this.changed(entry);
    const fields = { peer: entry.fingerprint, name: entry.name, address: entry.address, code, expiresInSec: this.expiresIn(entry) };
    if (entry.direction === 'inbound') {
      this.options.log.info(
        { ...fields, hint: `if ${entry.name} shows the same code, run \`clipsync pair --accept ${entry.fingerprint}\`; else \`clipsync pair --reject ${entry.fingerprint}\`` },
        'pairing request',
      );
    } else {
      this.options.log.info(fields, 'pairing code');
    }
  }

  private onSettled(entry: Entry, result: PairingResult): void {
    if (this.active.get(entry.fingerprint) === entry) this.active.delete(entry.fingerprint);
    this.recent.push(entry);
    if (this.recent.length > RECENT_KEPT) this.recent.shift();
    const fields = { peer: entry.fingerprint, name: entry.name, direction: entry.direction, code: result.closeCode, detail: result.detail };
    const message = {
      paired: 'paired',
      'already-paired': 'already paired',
      rejected: 'pairing rejected',
      expired: 'pairing expired',
      failed: 'pairing failed',
    }[result.outcome];
    // The peer closing with 4007 made the same tie-break (§9.4) before this side did.
    entry.replaced = entry.supersededBy !== undefined || (result.outcome === 'failed' && result.closeCode === CloseCode.duplicate);
    if (entry.replaced) {
      this.options.log.info({ ...fields, kept: entry.supersededBy?.address ?? null }, 'pairing connection replaced by another for the same key');
      return;
    }
    this.changed(entry);
    if (result.outcome === 'failed') this.options.log.warn(fields, message);
    else this.options.log.info(fields, message);
    if ((result.outcome === 'paired' || result.outcome === 'already-paired') && entry.typedAddress !== undefined) {
      // Found by address, not by mDNS: nothing else would ever dial it, so this side does.
      this.options.peers.addPairedPeer(entry.typedAddress, entry.fingerprint);
      this.options.rememberAddress(entry.address).catch((err: unknown) =>
        this.options.log.warn({ address: entry.address, reason: messageOf(err) }, 'could not remember the paired address in config.json'),
      );
    }
  }

  private live(selector: string): Entry | undefined {
    return pickBySelector(
      [...this.active.values()].filter((e) => !e.session.isFinal),
      selector,
    );
  }

  /** The newest ended request matching `selector` (superseded connections do not count). */
  private lastEnded(selector: string): Entry | undefined {
    return pickBySelector([...this.recent].reverse().filter((e) => e.replaced !== true), selector);
  }

  private find(selector: string): Entry {
    const entry = this.live(selector);
    if (entry !== undefined) return entry;
    const ended = this.lastEnded(selector);
    if (ended !== undefined) {
      const detail = ended.session.outcome?.detail;
      throw fail('CLIPSYNC_ERR_PAIRING', `the pairing request of ${ended.name} (${ended.fingerprint}) has ended: ${ended.session.state}${detail !== undefined ? ` (${detail})` : ''}`, {
        hint: ended.session.state === 'paired' || ended.session.state === 'already-paired' ? 'see `clipsync trusted`' : 'start again with `clipsync pair`',
      });
    }
    throw fail('CLIPSYNC_ERR_UNKNOWN_PEER', `no pending pairing request from "${selector}"`, { hint: 'see `clipsync pair --pending`' });
  }

  private unknownCandidate(selector: string): ClipsyncError {
    const known = this.options.peers.list().filter((p): p is PeerInfo & { fingerprint: string; name: string } => p.fingerprint !== null && p.name !== null);
    const trusted = pickBySelector(
      known.filter((p) => p.state !== 'untrusted' && p.state !== 'refused'),
      selector,
    );
    if (trusted !== undefined) {
      return fail('CLIPSYNC_ERR_PAIRING', `${trusted.name} (${trusted.fingerprint}) is already trusted`, { hint: 'see `clipsync peers`' });
    }
    return fail('CLIPSYNC_ERR_UNKNOWN_PEER', `no peer that can be paired is called "${selector}"`, {
      hint: 'run `clipsync pair` to list the peers found on the network, or pair by address: `clipsync pair tcp://HOST:PORT`',
    });
  }

  private inboundCount(exceptFingerprint: string): number {
    let n = 0;
    for (const e of this.active.values()) if (e.direction === 'inbound' && !e.session.isFinal && e.fingerprint !== exceptFingerprint) n++;
    return n;
  }

  private expiresIn(entry: Entry): number {
    return entry.session.isFinal ? 0 : Math.max(0, Math.ceil((entry.session.expiresAt - this.clock.now()) / 1000));
  }

  private info(entry: Entry): PairingInfo {
    const { session } = entry;
    return {
      fingerprint: entry.fingerprint,
      name: entry.name,
      address: entry.address,
      direction: entry.direction,
      state: session.state,
      code: session.code ?? null,
      acceptedHere: session.accepted.here,
      acceptedByPeer: session.accepted.peer,
      expiresInSec: this.expiresIn(entry),
      detail: session.outcome?.detail ?? null,
    };
  }
}

/** Why a pairing dial failed, in words: the close code alone means little to a user. */
function dialFailure(address: string, err: unknown): ClipsyncError {
  const violation = err instanceof ProtocolViolation ? err : undefined;
  let why: string;
  switch (violation?.closeCode) {
    case CloseCode.tryAgainLater:
      why = 'it has too many pairing requests pending; try again later';
      break;
    case CloseCode.selfConnection:
      why = 'that is this daemon itself';
      break;
    case CloseCode.untrusted:
      why = `it refused (${violation.reason || describeCloseCode(violation.closeCode)}); it may be a clipsync without pairing`;
      break;
    default:
      why = violation !== undefined ? violation.reason || describeCloseCode(violation.closeCode) : messageOf(err);
  }
  return fail('CLIPSYNC_ERR_PAIRING', `cannot pair with ${address}: ${why}`);
}
