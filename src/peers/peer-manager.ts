import type { WebSocket } from 'ws';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { CloseCode, ProtocolViolation, describeCloseCode } from '../wire/close-codes.js';
import { Connection } from '../protocol/connection.js';
import type { HandshakeConfig, HandshakeResult } from '../secure/handshake.js';
import { formatAddress, type Address } from '../transport/address.js';
import { openSocket } from '../transport/dialer.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { DialTarget } from './dial-target.js';
import { DialScheduler, type Refusal } from './dial-scheduler.js';
import { HandshakeGate } from './handshake-gate.js';
import { PeerTable, type PeerRecord } from './peer-table.js';
import type { PeerInfo } from './peer-types.js';
import { keepsNewConnection } from './tie-break.js';

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
  /** The trust store's name for a key, if trusted: names a peer that refused this machine. */
  trustedName?: (fingerprint: string) => Promise<string | undefined>;
}

/** After a wake or a network change, a live connection must answer a ping within this. */
const PROBE_DEADLINE_MS = 5_000;

/**
 * The peers of this daemon: static addresses dialed with backoff, inbound connections
 * admitted after the handshake, and exactly one live connection per peer. It joins the
 * parts: the dial schedule (DialScheduler), the handshake cap (HandshakeGate), the
 * duplicate tie-break (keepsNewConnection) and the table `clipsync peers` lists (PeerTable).
 */
export class PeerManager {
  private readonly table = new PeerTable();
  private readonly dials: DialScheduler;
  private readonly gate: HandshakeGate;
  /** Connections still in the handshake, inbound and outbound: closed too on stop. */
  private readonly pending = new Set<Connection>();
  private readonly clock: Clock;
  private readonly openSocket: (address: Address, timeoutMs: number) => WebSocket;
  private stopped = false;
  private onActive: () => void = () => undefined;
  private readonly changeListeners = new Set<() => void>();
  private readonly refusalListeners = new Set<(refusal: Refusal) => void>();

  constructor(private readonly options: PeerManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.openSocket = options.openSocket ?? openSocket;
    this.gate = new HandshakeGate(options.log);
    this.dials = new DialScheduler({
      clock: this.clock,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      log: options.log,
      connect: (address) => {
        const socket = this.openSocket(address, this.options.handshakeTimeoutMs);
        return { socket, connection: this.wrap(socket, formatAddress(address), 'initiator') };
      },
      isLive: (fingerprint) => this.table.hasLiveConnection(fingerprint),
      onAuthenticated: (connection, peer, target) => this.admit(connection, peer, target),
      ownFingerprint: options.ownFingerprint,
      onRefused: (refusal) => this.refused(refusal),
      ...(options.trustedName === undefined ? {} : { trustedName: options.trustedName }),
    });
  }

  /** `listener` hears that a peer connected, disconnected or was refused (what `status` counts). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** `listener` hears each connection refused for trust, either way (a notification may say so). */
  onRefused(listener: (refusal: Refusal) => void): () => void {
    this.refusalListeners.add(listener);
    return () => this.refusalListeners.delete(listener);
  }

  private refused(refusal: Refusal): void {
    for (const listener of this.refusalListeners) listener(refusal);
    this.changed();
  }

  addStaticPeer(address: Address): DialTarget {
    const target = this.dials.addStatic(address);
    this.onActive();
    return target;
  }

  /**
   * A peer just paired through an address it was dialed at (not found by mDNS): keep dialing
   * it like a `--peer`, unless that address is already one.
   */
  addPairedPeer(address: Address, fingerprint: string): void {
    this.dials.addPaired(address, fingerprint);
    this.onActive();
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
    const target = this.dials.addDiscovered(fingerprint, addresses);
    this.onActive();
    return target;
  }

  /** The peer left the network (goodbye, expiry) or is no longer trusted: stop dialing it. */
  removeDiscoveredPeer(fingerprint: string): void {
    this.dials.removeDiscovered(fingerprint);
  }

  /**
   * The peer showed up (a discovery announcement, a connection attempt of its own): a dial
   * waiting out its backoff goes now, since the reason to wait is gone.
   */
  peerSeen(fingerprint: string): void {
    this.dials.peerSeen(fingerprint);
  }

  /** An inbound socket from a listener. */
  acceptInbound(socket: WebSocket, remote: string): void {
    if (this.stopped) {
      socket.close(CloseCode.goingAway, 'shutting down');
      return;
    }
    const connection = this.gate.enter(socket, remote, () => this.wrap(socket, remote, 'responder'));
    if (connection === undefined) return;
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
  noteUntrusted(fingerprint: string, name: string, address: string | undefined): void {
    this.table.noteUntrusted(fingerprint, name, address, this.clock.now());
  }

  list(): PeerInfo[] {
    return this.table.list(this.dials.targets, this.clock.now());
  }

  connectedCount(): number {
    return this.table.connectedCount();
  }

  /** Whether anything is connected, connecting or to be dialed: what a network change can affect. */
  isActive(): boolean {
    return this.dials.targets.length > 0 || this.pending.size > 0 || this.table.connectedCount() > 0;
  }

  /** `listener` runs whenever a connection or an address to dial is added (the daemon's network watch wakes up). */
  whenActive(listener: () => void): void {
    this.onActive = listener;
  }

  /** Closes connections to keys that are no longer trusted (after `clipsync untrust`). */
  async revalidate(isTrusted: (fingerprint: string) => Promise<boolean>): Promise<number> {
    let closed = 0;
    for (const record of this.table.records()) {
      if (record.connection?.isOpen === true && !(await isTrusted(record.fingerprint))) {
        this.options.log.info({ peer: record.fingerprint, name: record.name }, 'key no longer trusted; disconnecting');
        record.connection.close(CloseCode.untrusted, 'key no longer trusted');
        closed++;
      }
    }
    return closed;
  }

  /**
   * The machine woke from sleep or its network changed: live connections may be dead
   * without knowing it, and dials waiting out a long backoff may now succeed. Probe the
   * former, redial the latter at once with a fresh backoff.
   */
  /**
   * Trust changed (`clipsync trust`, pairing, an edited trust file): a peer refused for its key,
   * or one that refused ours, may be let in now. Redial at once rather than after the wait.
   */
  trustChanged(): void {
    if (this.stopped) return;
    const waiting = this.dials.targets.filter((t) => t.state === 'refused' || t.state === 'backoff').length;
    if (waiting > 0) this.options.log.info({ targets: waiting }, 'trust changed; redialing peers that were refused or waiting');
    this.dials.redialWaiting(true);
  }

  networkChanged(reason: string): void {
    if (this.stopped) return;
    this.options.log.info({ reason }, 'network changed; checking connections and redialing');
    for (const record of this.table.records()) if (record.connection?.isOpen === true) record.connection.probeLiveness(PROBE_DEADLINE_MS);
    this.dials.redialWaiting();
  }

  /**
   * Stops dialing and closes every connection with 1001 and a reason; resolves when the
   * peers have answered the close (or after `graceMs`, for peers that do not).
   */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    this.dials.stop();
    const closing: Connection[] = [...this.pending, ...this.table.connections()];
    for (const connection of closing) connection.close(CloseCode.goingAway, 'peer is shutting down');
    let timer: TimerHandle | undefined;
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

  /** Registers an authenticated connection, keeping one per peer by a tie-break both sides agree on. */
  private admit(connection: Connection, peer: HandshakeResult, target: DialTarget | undefined): void {
    const fingerprint = peer.peerKey.fingerprint;
    const log = this.options.log.child({ peer: fingerprint, name: peer.peerName });
    if (!connection.isOpen) return;
    const existing = this.table.liveConnection(fingerprint);
    if (existing !== undefined) {
      const keepNew = keepsNewConnection(connection.role, this.options.ownFingerprint, fingerprint);
      const [winner, loser] = keepNew ? [connection, existing] : [existing, connection];
      log.debug({ kept: winner.remote, closed: loser.remote }, 'duplicate connection; keeping one');
      if (!keepNew) {
        loser.close(CloseCode.duplicate, 'duplicate connection');
        return;
      }
    }
    const record = this.table.connected(fingerprint, peer.peerName, target?.address ?? connection.remote, connection, this.clock.now());
    this.options.onSession(connection, peer); // attach the winner before the loser's close
    existing?.close(CloseCode.duplicate, 'duplicate connection');
    log.info({ remote: connection.remote, direction: connection.role === 'initiator' ? 'outbound' : 'inbound' }, 'peer connected');
    this.onActive();
    this.changed();
    if (target === undefined) this.dials.retryUnidentified();
    connection.once('close', (info) => this.onSessionClosed(record, connection, info.code, info.reason));
  }

  private onSessionClosed(record: PeerRecord, connection: Connection, code: number, reason: string): void {
    if (record.connection !== connection) return; // a duplicate that lost the tie-break
    const connectedFor = this.clock.now() - record.since;
    const state = code === CloseCode.untrusted ? 'refused' : 'disconnected';
    const lastError = code === CloseCode.normal || code === CloseCode.goingAway ? undefined : `${describeCloseCode(code)}${reason ? `: ${reason}` : ''}`;
    this.table.disconnected(record, state, lastError, this.clock.now());
    this.options.log.info({ peer: record.fingerprint, code, reason }, 'peer disconnected');
    this.changed();
    this.dials.redialAfterDrop(record.fingerprint, connectedFor);
  }

  private onInboundFailure(connection: Connection, err: unknown): void {
    const violation = err instanceof ProtocolViolation ? err : undefined;
    const claimed = connection.claimedPeer;
    // Only "your key is not trusted" is recorded: the claimed key is unverified, so a failed
    // signature must not let a stranger paint a trusted peer as refused.
    if (violation === undefined || claimed === undefined || violation.closeCode !== CloseCode.untrusted) return;
    // Who refused whom: this side (its trust lacks the key), or the peer (ours is not in its trust).
    void (async () => {
      const name = (await this.options.trustedName?.(claimed.fingerprint).catch(() => undefined)) ?? claimed.name;
      const reason = violation.byPeer
        ? `${name} refused this machine's key ${this.options.ownFingerprint} (trust it there: clipsync trust, or clipsync pair)`
        : `this machine does not trust ${name}'s key ${claimed.fingerprint}`;
      this.table.refusedInbound(claimed.fingerprint, name, connection.remote, reason, this.clock.now());
      this.refused({ fingerprint: claimed.fingerprint, name, reason });
    })();
  }
}
