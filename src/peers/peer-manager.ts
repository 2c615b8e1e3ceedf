import type { WebSocket } from 'ws';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { CloseCode, ProtocolViolation, describeCloseCode, isRefusal } from '../wire/close-codes.js';
import { Connection } from '../protocol/connection.js';
import type { HandshakeConfig, HandshakeResult } from '../secure/handshake.js';
import { formatAddress, type Address } from '../transport/address.js';
import { openSocket } from '../transport/dialer.js';
import { systemClock, type Clock } from '../core/clock.js';
import { DEFAULT_BACKOFF, attemptAfterDrop, backoffDelay, type BackoffPolicy } from './backoff.js';
import { DialTarget } from './dial-target.js';
import { listPeers, type UntrustedSighting } from './peer-list.js';
import type { PeerInfo } from './peer-types.js';

/** A peer known by its key: connected now, or seen before. */
export interface PeerRecord {
  fingerprint: string;
  name: string;
  address: string;
  state: 'connected' | 'disconnected' | 'refused';
  since: number;
  lastError: string | undefined;
  connection: Connection | undefined;
}

export interface PeerManagerOptions {
  ownFingerprint: string;
  handshake: Omit<HandshakeConfig, 'role'>;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs?: number;
  log: Logger;
  backoff?: BackoffPolicy;
  /** Called for every connection that survives authentication and the duplicate tie-break. */
  onSession: (connection: Connection, peer: HandshakeResult) => void;
  /**
   * Called for an inbound pairing connection (authenticated, trust not checked); it never
   * reaches `onSession`. Without it such connections are closed.
   */
  onPairing?: (connection: Connection, peer: HandshakeResult) => void;
  /** Time for backoff, retries, heartbeats and the table's timestamps; the system clock by default. */
  clock?: Clock;
  /** Opens the socket of an outbound dial; the real ws dialer by default. */
  openSocket?: (address: Address, timeoutMs: number) => WebSocket;
}

/** Connections allowed to be in the handshake at once (each is bounded by the handshake deadline). */
export const MAX_PENDING_HANDSHAKES = 64;
/** Refused inbound keys kept for `clipsync peers`, so a user sees who knocked. */
const MAX_REFUSED_RECORDS = 32;
/** After a refusal, wait this long before asking again: trust may be granted meanwhile. */
const REFUSED_RETRY_MS = 30_000;
/**
 * A connection that lasted this long resets the backoff: its loss starts again from the
 * shortest delay. One that drops sooner (a flapping link, a peer that crashes on connect)
 * keeps doubling the delay, so it is not redialed in a hot loop.
 */
export const STABLE_CONNECTION_MS = 10_000;
/** After a wake or a network change, a live connection must answer a ping within this. */
const PROBE_DEADLINE_MS = 5_000;

/**
 * The peer table: one record per key, static addresses dialed with backoff, inbound
 * connections admitted after the handshake, and exactly one live connection per peer.
 */
export class PeerManager {
  private readonly records = new Map<string, PeerRecord>();
  private readonly targets: DialTarget[] = [];
  private readonly pending = new Set<Connection>();
  /** Inbound connections still in the handshake: the ones a stranger can open at will. */
  private inboundPending = 0;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly openSocket: (address: Address, timeoutMs: number) => WebSocket;
  private stopped = false;

  constructor(private readonly options: PeerManagerOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.clock = options.clock ?? systemClock;
    this.openSocket = options.openSocket ?? openSocket;
  }

  addStaticPeer(address: Address): DialTarget {
    const target = new DialTarget(address, 'static', this.clock);
    this.targets.push(target);
    this.schedule(target, 0);
    return target;
  }

  /**
   * A peer just paired through an address it was dialed at (not found by mDNS): keep dialing
   * it like a `--peer`, unless that address is already one.
   */
  addPairedPeer(address: Address, fingerprint: string): void {
    const formatted = formatAddress(address);
    const known = this.targets.find((t) => t.address === formatted);
    if (known !== undefined) {
      known.fingerprint ??= fingerprint;
      if (known.state === 'backoff' || known.state === 'refused' || known.state === 'idle') this.schedule(known, 0);
      return;
    }
    this.addStaticPeer(address).fingerprint = fingerprint;
  }

  /**
   * Dials `address` in pairing mode (`clipsync pair`). The connection is the caller's: it is
   * never admitted to the peer table nor handed to the sync engine.
   */
  openPairing(address: Address): Connection {
    if (this.stopped) throw new ProtocolViolation(CloseCode.goingAway, 'the daemon is stopping');
    const socket = this.openSocket(address, this.options.handshakeTimeoutMs);
    return this.wrap(socket, formatAddress(address), 'initiator', true);
  }

  /**
   * A trusted peer announced itself by mDNS at `address`: dial it now unless a connection
   * to its key is live. Static and discovered addresses of one key are one peer: the
   * record is keyed by fingerprint, and a dial is skipped while any connection to it lives.
   */
  addDiscoveredPeer(fingerprint: string, addresses: Address[]): DialTarget {
    const [first, ...others] = addresses;
    if (first === undefined) throw new RangeError('a discovered peer needs an address');
    let target = this.targets.find((t) => t.source === 'mdns' && t.fingerprint === fingerprint);
    if (target === undefined) {
      target = new DialTarget(first, 'mdns', this.clock);
      target.fingerprint = fingerprint;
      this.targets.push(target);
    } else {
      target.attempt = 0;
    }
    target.moveTo(first, others);
    if (target.state === 'idle' || target.state === 'backoff') this.schedule(target, 0);
    return target;
  }

  /** The peer left the network (goodbye, expiry) or is no longer trusted: stop dialing it. */
  removeDiscoveredPeer(fingerprint: string): void {
    const index = this.targets.findIndex((t) => t.source === 'mdns' && t.fingerprint === fingerprint);
    if (index < 0) return;
    this.targets[index]!.cancelTimer();
    this.targets.splice(index, 1);
  }

  /** An inbound socket from a listener. */
  acceptInbound(socket: WebSocket, remote: string): void {
    if (this.stopped) {
      socket.close(CloseCode.goingAway, 'shutting down');
      return;
    }
    if (this.inboundPending >= MAX_PENDING_HANDSHAKES) {
      // Unauthenticated connections cost memory; past the cap, turn new ones away at once
      // (1013: try again later) so a flood cannot starve the daemon or its real peers.
      socket.close(1013, 'too many connections in handshake; try again later');
      this.options.log.warn({ remote, pending: this.inboundPending }, 'refused a connection: too many handshakes in progress');
      return;
    }
    const connection = this.wrap(socket, remote, 'responder');
    this.inboundPending++;
    const settled = (): void => {
      this.inboundPending--;
    };
    connection.established().then(settled, settled);
    connection.established().then(
      (peer) => {
        if (!peer.pairing) this.admit(connection, peer, undefined);
        else if (this.options.onPairing !== undefined) this.options.onPairing(connection, peer);
        else connection.close(CloseCode.untrusted, 'pairing is not offered here');
      },
      (err: unknown) => this.onInboundFailure(connection, err),
    );
  }

  /** Peers seen by mDNS whose keys are not trusted: listed (so the user can pair), never dialed. */
  private readonly untrustedSeen = new Map<string, UntrustedSighting>();

  noteUntrusted(fingerprint: string, name: string, address: string | undefined): void {
    if (address === undefined) {
      this.untrustedSeen.delete(fingerprint);
      return;
    }
    const known = this.untrustedSeen.get(fingerprint);
    this.untrustedSeen.set(fingerprint, { name, address, since: known?.since ?? this.clock.now() });
  }

  list(): PeerInfo[] {
    return listPeers(this.records.values(), this.targets, this.untrustedSeen, this.clock.now());
  }

  connectedCount(): number {
    let n = 0;
    for (const record of this.records.values()) if (record.connection?.isOpen === true) n++;
    return n;
  }

  /** Closes connections to keys that are no longer trusted (after `clipsync untrust`). */
  async revalidate(isTrusted: (fingerprint: string) => Promise<boolean>): Promise<number> {
    let closed = 0;
    for (const record of this.records.values()) {
      if (record.connection?.isOpen === true && !(await isTrusted(record.fingerprint))) {
        this.options.log.info({ peer: record.fingerprint, name: record.name }, 'key no longer trusted; disconnecting');
        record.connection.close(CloseCode.untrusted, 'key no longer trusted');
        closed++;
      }
    }
    return closed;
  }

  /**
   * Stops dialing and closes every connection with 1001 and a reason; resolves when the
   * peers have answered the close (or after `graceMs`, for peers that do not).
   */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    for (const target of this.targets) target.cancelTimer();
    const closing: Connection[] = [...this.pending];
    for (const record of this.records.values()) if (record.connection !== undefined) closing.push(record.connection);
    for (const connection of closing) connection.close(CloseCode.goingAway, 'peer is shutting down');
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    await Promise.race([
      Promise.all(closing.map((c) => c.socketClosed)),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, graceMs);
      }),
    ]);
    if (timer !== undefined) this.clock.clearTimeout(timer);
  }

  private wrap(socket: WebSocket, remote: string, role: HandshakeConfig['role'], pairing = false): Connection {
    const connection = new Connection(socket, {
      remote,
      handshake: { ...this.options.handshake, role, ...(pairing ? { pairing: true } : {}) },
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      log: this.options.log,
      clock: this.clock,
    });
    this.pending.add(connection);
    const settled = (): void => {
      this.pending.delete(connection);
    };
    connection.established().then(settled, settled);
    return connection;
  }

  private schedule(target: DialTarget, delayMs: number): void {
    target.cancelTimer();
    if (this.stopped) return;
    target.planDial(delayMs, () => void this.dialTarget(target));
  }

  private async dialTarget(target: DialTarget): Promise<void> {
    target.cancelTimer();
    if (this.stopped || this.hasLiveConnection(target.fingerprint)) {
      target.enter('idle', this.clock.now());
      return;
    }
    target.enter('connecting', this.clock.now());
    const log = this.options.log.child({ address: target.address });
    const socket = this.openSocket(target.parsed, this.options.handshakeTimeoutMs);
    const connection = this.wrap(socket, target.address, 'initiator');
    socket.once('open', () => target.enter('authenticating', this.clock.now()));
    let peer: HandshakeResult;
    try {
      peer = await connection.established();
    } catch (err) {
      if (!connection.wasOpened) {
        target.rotate();
        this.retryLater(target, messageOf(err), false);
        log.debug({ reason: messageOf(err), attempt: target.attempt }, 'dial failed');
        return;
      }
      const violation = err instanceof ProtocolViolation ? err : undefined;
      const refused = violation !== undefined && isRefusal(violation.closeCode);
      const claimed = connection.claimedPeer;
      if (claimed !== undefined) target.fingerprint = claimed.fingerprint;
      if (violation?.closeCode === CloseCode.duplicate) {
        target.enter('idle', this.clock.now());
        return;
      }
      const reason = violation !== undefined ? `${describeCloseCode(violation.closeCode)}: ${violation.reason}` : messageOf(err);
      log.warn({ peer: claimed?.fingerprint, code: violation?.closeCode, reason }, refused ? 'peer connection refused' : 'handshake failed');
      this.retryLater(target, reason, refused);
      return;
    }
    target.fingerprint = peer.peerKey.fingerprint;
    target.lastError = undefined;
    target.enter('idle', this.clock.now());
    this.admit(connection, peer, target);
  }

  private retryLater(target: DialTarget, reason: string, refused: boolean): void {
    target.attempt++;
    target.lastError = reason;
    target.enter(refused ? 'refused' : 'backoff', this.clock.now());
    this.schedule(target, refused ? REFUSED_RETRY_MS : backoffDelay(target.attempt, this.backoff));
  }

  /** Registers an authenticated connection, keeping one per peer by a tie-break both sides agree on. */
  private admit(connection: Connection, peer: HandshakeResult, target: DialTarget | undefined): void {
    const fingerprint = peer.peerKey.fingerprint;
    const log = this.options.log.child({ peer: fingerprint, name: peer.peerName });
    if (!connection.isOpen) return;
    let record = this.records.get(fingerprint);
    const existing = record?.connection;
    if (existing !== undefined && existing.isOpen) {
      const keepNew = this.initiatorOf(connection, fingerprint) === this.preferredInitiator(fingerprint);
      const [winner, loser] = keepNew ? [connection, existing] : [existing, connection];
      log.debug({ kept: winner.remote, closed: loser.remote }, 'duplicate connection; keeping one');
      if (!keepNew) {
        loser.close(CloseCode.duplicate, 'duplicate connection');
        return;
      }
      record!.connection = connection;
      this.options.onSession(connection, peer); // attach the winner before the loser's close
      loser.close(CloseCode.duplicate, 'duplicate connection');
    } else {
      record ??= {
        fingerprint,
        name: peer.peerName,
        address: target?.address ?? connection.remote,
        state: 'connected',
        since: this.clock.now(),
        lastError: undefined,
        connection,
      };
      this.records.set(fingerprint, record);
      record.connection = connection;
      this.options.onSession(connection, peer);
    }
    record!.name = peer.peerName;
    record!.address = target?.address ?? connection.remote;
    record!.state = 'connected';
    record!.since = this.clock.now();
    record!.lastError = undefined;
    log.info({ remote: connection.remote, direction: connection.role === 'initiator' ? 'outbound' : 'inbound' }, 'peer connected');
    if (target === undefined) this.retryUnidentifiedTargets();
    connection.once('close', (info) => this.onSessionClosed(record!, connection, info.code, info.reason));
  }

  private onSessionClosed(record: PeerRecord, connection: Connection, code: number, reason: string): void {
    if (record.connection !== connection) return; // a duplicate that lost the tie-break
    const connectedSince = record.since;
    record.connection = undefined;
    record.state = code === CloseCode.untrusted ? 'refused' : 'disconnected';
    record.since = this.clock.now();
    record.lastError = code === CloseCode.normal || code === CloseCode.goingAway ? undefined : `${describeCloseCode(code)}${reason ? `: ${reason}` : ''}`;
    this.options.log.info({ peer: record.fingerprint, code, reason }, 'peer disconnected');
    const connectedFor = this.clock.now() - connectedSince;
    for (const target of this.targets) {
      if (target.fingerprint !== record.fingerprint) continue;
      target.attempt = attemptAfterDrop(target.attempt, connectedFor, STABLE_CONNECTION_MS);
      target.enter('backoff', this.clock.now());
      this.schedule(target, backoffDelay(target.attempt, this.backoff));
    }
  }

  /**
   * The peer showed up (a discovery announcement, a connection attempt of its own): a dial
   * waiting out its backoff goes now, since the reason to wait is gone.
   */
  peerSeen(fingerprint: string): void {
    if (this.stopped || this.hasLiveConnection(fingerprint)) return;
    for (const target of this.targets) {
      if (target.fingerprint === fingerprint && target.state === 'backoff') this.schedule(target, 0);
    }
  }

  /**
   * The machine woke from sleep or its network changed: live connections may be dead
   * without knowing it, and dials waiting out a long backoff may now succeed. Probe the
   * former, redial the latter at once with a fresh backoff.
   */
  networkChanged(reason: string): void {
    if (this.stopped) return;
    this.options.log.info({ reason }, 'network changed; checking connections and redialing');
    for (const record of this.records.values()) if (record.connection?.isOpen === true) record.connection.probeLiveness(PROBE_DEADLINE_MS);
    for (const target of this.targets) {
      if (target.state !== 'backoff') continue;
      target.attempt = 0;
      this.schedule(target, 0);
    }
  }

  /**
   * A peer that just dialed in may be one of our static addresses we have not reached yet.
   * Dial those now rather than at their next backoff: if it is the same peer, the tie-break
   * keeps one connection and the address learns its key; if not, nothing is lost.
   */
  private retryUnidentifiedTargets(): void {
    for (const target of this.targets) {
      if (target.fingerprint === undefined && target.state === 'backoff') this.schedule(target, 0);
    }
  }

  private onInboundFailure(connection: Connection, err: unknown): void {
    const violation = err instanceof ProtocolViolation ? err : undefined;
    const claimed = connection.claimedPeer;
    // Only "your key is not trusted" is recorded: the claimed key is unverified, so a failed
    // signature must not let a stranger paint a trusted peer as refused.
    if (violation === undefined || claimed === undefined || violation.closeCode !== CloseCode.untrusted) return;
    if (this.records.get(claimed.fingerprint)?.connection?.isOpen === true) return;
    this.records.delete(claimed.fingerprint); // re-insert so the newest refusal is last
    this.records.set(claimed.fingerprint, {
      fingerprint: claimed.fingerprint,
      name: claimed.name,
      address: connection.remote,
      state: 'refused',
      since: this.clock.now(),
      lastError: violation.reason,
      connection: undefined,
    });
    this.trimRefused();
  }

  private trimRefused(): void {
    const refused = [...this.records.values()].filter((r) => r.state === 'refused' && r.connection === undefined);
    for (const record of refused.slice(0, Math.max(0, refused.length - MAX_REFUSED_RECORDS))) this.records.delete(record.fingerprint);
  }

  private hasLiveConnection(fingerprint: string | undefined): boolean {
    return fingerprint !== undefined && this.records.get(fingerprint)?.connection?.isOpen === true;
  }

  private initiatorOf(connection: Connection, peerFingerprint: string): string {
    return connection.role === 'initiator' ? this.options.ownFingerprint : peerFingerprint;
  }

  /** Both sides keep the connection dialed by the smaller fingerprint. */
  private preferredInitiator(peerFingerprint: string): string {
    return this.options.ownFingerprint < peerFingerprint ? this.options.ownFingerprint : peerFingerprint;
  }
}
