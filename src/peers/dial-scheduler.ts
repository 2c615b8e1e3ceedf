import type { WebSocket } from 'ws';
import type { Clock } from '../core/clock.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Connection } from '../protocol/connection.js';
import type { HandshakeResult } from '../secure/handshake.js';
import { formatAddress, type Address } from '../transport/address.js';
import { CloseCode, ProtocolViolation, describeCloseCode, isRefusal } from '../wire/close-codes.js';
import { attemptAfterDrop, backoffDelay, type BackoffPolicy } from './backoff.js';
import { DialTarget } from './dial-target.js';

/** After a refusal, wait this long before asking again: trust may be granted meanwhile. */
export const REFUSED_RETRY_MS = 30_000;
/**
 * For this long after a pairing, a refusal is retried on the backoff schedule rather than after
 * REFUSED_RETRY_MS: both sides said yes, but each writes its own trust when it hears the other's
 * yes, so the first dial can reach the peer a moment before it trusts us.
 */
export const PAIRED_GRACE_MS = 10_000;
/**
 * A connection that lasted this long resets the backoff: its loss starts again from the
 * shortest delay. One that drops sooner (a flapping link, a peer that crashes on connect)
 * keeps doubling the delay, so it is not redialed in a hot loop.
 */
export const STABLE_CONNECTION_MS = 10_000;

export interface DialSchedulerOptions {
  clock: Clock;
  backoff: BackoffPolicy;
  log: Logger;
  /** Opens the socket to `address` and the connection over it, as initiator. */
  connect: (address: Address) => { socket: WebSocket; connection: Connection };
  /** Whether a connection to this key is live: then a dial is pointless. */
  isLive: (fingerprint: string | undefined) => boolean;
  /** A dial authenticated; the connection is the caller's from here. */
  onAuthenticated: (connection: Connection, peer: HandshakeResult, target: DialTarget) => void;
  /** This daemon's key: a refusal names it ("desktop refused this machine's key SHA256:…"). */
  ownFingerprint?: string;
  /** The trust store's name for a key, if it is trusted: what `peers` calls a refused peer. */
  trustedName?: (fingerprint: string) => Promise<string | undefined>;
  /** A dial was refused for trust, by either side: `reason` says whose key, for a person. */
  onRefused?: (refusal: Refusal) => void;
}

/** A connection refused because a key was not trusted, as `peers` and notifications tell it. */
export interface Refusal {
  fingerprint: string;
  name: string;
  reason: string;
}

/**
 * The addresses this daemon dials (static peers, paired addresses, trusted peers found by
 * mDNS) and when: at once, after a failure on the backoff schedule, after a refusal every
 * REFUSED_RETRY_MS, and after a drop by how long the connection lasted.
 */
export class DialScheduler {
  private readonly list: DialTarget[] = [];
  private stopped = false;

  constructor(private readonly options: DialSchedulerOptions) {}

  get targets(): readonly DialTarget[] {
    return this.list;
  }

  addStatic(address: Address): DialTarget {
    const target = new DialTarget(address, 'static', this.options.clock);
    this.list.push(target);
    this.schedule(target, 0);
    return target;
  }

  /**
   * A peer just paired through an address it was dialed at (not found by mDNS): keep dialing
   * it like a `--peer`, unless that address is already one.
   */
  addPaired(address: Address, fingerprint: string): void {
    const formatted = formatAddress(address);
    const known = this.list.find((t) => t.address === formatted);
    if (known !== undefined) {
      known.fingerprint ??= fingerprint;
      known.pairedAt = this.options.clock.now();
      if (known.state === 'backoff' || known.state === 'refused' || known.state === 'idle') this.schedule(known, 0);
      return;
    }
    const target = this.addStatic(address);
    target.fingerprint = fingerprint;
    target.pairedAt = this.options.clock.now();
  }

  /**
   * A trusted peer announced itself by mDNS at `addresses` (best first): dial it now. Its
   * addresses can change; one target per key follows them.
   */
  addDiscovered(fingerprint: string, addresses: Address[]): DialTarget {
    const [first, ...others] = addresses;
    if (first === undefined) throw new RangeError('a discovered peer needs an address');
    let target = this.list.find((t) => t.source === 'mdns' && t.fingerprint === fingerprint);
    if (target === undefined) {
      target = new DialTarget(first, 'mdns', this.options.clock);
      target.fingerprint = fingerprint;
      this.list.push(target);
    } else {
      target.attempt = 0;
    }
    target.moveTo(first, others);
    if (target.state === 'idle' || target.state === 'backoff') this.schedule(target, 0);
    return target;
  }

  removeDiscovered(fingerprint: string): void {
    const index = this.list.findIndex((t) => t.source === 'mdns' && t.fingerprint === fingerprint);
    if (index < 0) return;
    const [removed] = this.list.splice(index, 1);
    removed!.cancelTimer();
    // A --peer twin that stood by for it dials on its own from now on.
    for (const twin of this.standingBy(removed!)) this.schedule(twin, 0);
  }

  /** Targets at the same address that stood by (idle) while `target` dialed for both. */
  private standingBy(target: DialTarget): DialTarget[] {
    return this.list.filter((t) => t !== target && t.address === target.address && t.state === 'idle' && !this.options.isLive(t.fingerprint));
  }

  /**
   * The peer showed up (a discovery announcement, a connection attempt of its own): a dial
   * waiting out its backoff goes now, since the reason to wait is gone.
   */
  peerSeen(fingerprint: string): void {
    if (this.stopped || this.options.isLive(fingerprint)) return;
    for (const target of this.list) {
      if (target.fingerprint === fingerprint && target.state === 'backoff') this.schedule(target, 0);
    }
  }

  /**
   * The network changed, or trust did: dials waiting out a long backoff (or the wait after a
   * refusal, with `refusedToo`) may now succeed; go at once, afresh.
   */
  redialWaiting(refusedToo = false): void {
    for (const target of this.list) {
      if (target.state !== 'backoff' && !(refusedToo && target.state === 'refused')) continue;
      target.attempt = 0;
      this.schedule(target, 0);
    }
  }

  /**
   * A peer that just dialed in may be one of our static addresses we have not reached yet.
   * Dial those now rather than at their next backoff: if it is the same peer, the tie-break
   * keeps one connection and the address learns its key; if not, nothing is lost.
   */
  retryUnidentified(): void {
    for (const target of this.list) {
      if (target.fingerprint === undefined && target.state === 'backoff') this.schedule(target, 0);
    }
  }

  /** The live connection to `fingerprint`, which lasted `connectedForMs`, dropped: redial it. */
  redialAfterDrop(fingerprint: string, connectedForMs: number): void {
    for (const target of this.list) {
      if (target.fingerprint !== fingerprint) continue;
      target.attempt = attemptAfterDrop(target.attempt, connectedForMs, STABLE_CONNECTION_MS);
      target.enter('backoff', this.options.clock.now());
      this.schedule(target, backoffDelay(target.attempt, this.options.backoff));
    }
  }

  /** No dial from now on. */
  stop(): void {
    this.stopped = true;
    for (const target of this.list) target.cancelTimer();
  }

  private schedule(target: DialTarget, delayMs: number): void {
    target.cancelTimer();
    if (this.stopped) return;
    target.planDial(delayMs, () => void this.dial(target));
  }

  private async dial(target: DialTarget): Promise<void> {
    const { clock } = this.options;
    target.cancelTimer();
    if (this.stopped || this.options.isLive(target.fingerprint)) {
      target.enter('idle', clock.now());
      return;
    }
    // A `--peer` address that mDNS also found (or the other way round): one dial is under way,
    // or its peer connected, through the other target. A second would only meet the
    // duplicate tie-break (4007); this one stands by, and is redialed with it after a drop.
    const twin = this.list.find(
      (t) => t !== target && t.address === target.address && (t.state === 'connecting' || t.state === 'authenticating' || (t.fingerprint !== undefined && this.options.isLive(t.fingerprint))),
    );
    if (twin !== undefined) {
      target.fingerprint ??= twin.fingerprint;
      target.enter('idle', clock.now());
      this.options.log.debug({ address: target.address, via: twin.source }, 'not dialed: another target reaches this address');
      return;
    }
    target.enter('connecting', clock.now());
    const log = this.options.log.child({ address: target.address });
    const { socket, connection } = this.options.connect(target.parsed);
    socket.once('open', () => target.enter('authenticating', clock.now()));
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
        target.enter('idle', clock.now());
        return;
      }
      if (claimed !== undefined) target.name = (await this.options.trustedName?.(claimed.fingerprint).catch(() => undefined)) ?? claimed.name;
      const reason =
        violation?.closeCode === CloseCode.untrusted && claimed !== undefined
          ? untrustedReason(violation, target.name ?? claimed.name, claimed.fingerprint, this.options.ownFingerprint)
          : violation !== undefined
            ? `${describeCloseCode(violation.closeCode)}: ${violation.reason}`
            : messageOf(err);
      log.warn({ peer: claimed?.fingerprint, code: violation?.closeCode, reason }, refused ? 'peer connection refused' : 'handshake failed');
      if (violation?.closeCode === CloseCode.untrusted && claimed !== undefined) this.options.onRefused?.({ fingerprint: claimed.fingerprint, name: target.name ?? claimed.name, reason });
      this.retryLater(target, reason, refused);
      return;
    }
    target.fingerprint = peer.peerKey.fingerprint;
    target.name = peer.peerName;
    target.lastError = undefined;
    // Twins that stood by for this dial learn whose address it is, so a drop redials them too.
    for (const t of this.list) if (t !== target && t.address === target.address) t.fingerprint ??= target.fingerprint;
    target.enter('idle', clock.now());
    this.options.onAuthenticated(connection, peer, target);
  }

  private retryLater(target: DialTarget, reason: string, refused: boolean): void {
    target.attempt++;
    target.lastError = reason;
    const now = this.options.clock.now();
    target.enter(refused ? 'refused' : 'backoff', now);
    const justPaired = target.pairedAt !== undefined && now - target.pairedAt < PAIRED_GRACE_MS;
    // A twin that stood by for this dial stays idle: this target keeps dialing for both, and a
    // discovered one that goes away wakes it (removeDiscovered).
    this.schedule(target, refused && !justPaired ? REFUSED_RETRY_MS : backoffDelay(target.attempt, this.options.backoff));
  }
}

/** Whose key was not trusted, by whom: the refusal as `peers` shows it. */
function untrustedReason(violation: ProtocolViolation, peerName: string, peerFingerprint: string, ownFingerprint: string | undefined): string {
  if (violation.byPeer) return `${peerName} refused this machine's key${ownFingerprint === undefined ? '' : ` ${ownFingerprint}`} (trust it there: clipsync trust, or clipsync pair)`;
  return `this machine does not trust ${peerName}'s key ${peerFingerprint}`;
}
