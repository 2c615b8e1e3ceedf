import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Address } from '../transport/address.js';
import { formatAddress } from '../transport/address.js';

/**
 * An address this daemon keeps dialing: a static peer (`--peer`), or a trusted peer found
 * by mDNS, whose addresses can change and which is dropped when it leaves the network.
 */
export class DialTarget {
  address: string;
  /** Learned from the first handshake; lets the table show it as the same peer. */
  fingerprint: string | undefined;
  /** What this machine calls the peer: its trust-store name, else the name it announced. */
  name: string | undefined;
  state: 'idle' | 'connecting' | 'authenticating' | 'backoff' | 'refused' = 'idle';
  since: number;
  attempt = 0;
  nextRetryAt: number | undefined;
  lastError: string | undefined;
  /** When pairing added it (see DialScheduler.addPaired). */
  pairedAt: number | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    public parsed: Address,
    readonly source: 'static' | 'mdns' = 'static',
    private readonly clock: Clock = systemClock,
  ) {
    this.address = formatAddress(parsed);
    this.since = clock.now();
  }

  /** Other addresses of a discovered peer (a host with IPv4 and IPv6, several links). */
  private others: Address[] = [];

  /** A discovered peer's addresses, best first; the dial goes to the first. */
  moveTo(parsed: Address, others: Address[] = []): void {
    this.parsed = parsed;
    this.address = formatAddress(parsed);
    this.others = others;
  }

  /**
   * A dial to the current address failed before any handshake: the next attempt tries the
   * peer's next address (an unreachable IPv6 address must not hide a working IPv4 one).
   */
  rotate(): void {
    const next = this.others.shift();
    if (next === undefined) return;
    this.others.push(this.parsed);
    this.parsed = next;
    this.address = formatAddress(next);
  }

  enter(state: DialTarget['state'], now: number): void {
    if (this.state !== state) this.since = now;
    this.state = state;
  }

  /** Runs `dial` after `delayMs`, replacing any dial already planned. */
  planDial(delayMs: number, dial: () => void): void {
    this.cancelTimer();
    this.nextRetryAt = this.clock.now() + delayMs;
    this.timer = this.clock.setTimeout(dial, delayMs);
  }

  cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRetryAt = undefined;
  }
}
