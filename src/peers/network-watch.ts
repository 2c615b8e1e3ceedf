import { networkInterfaces } from 'node:os';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';

export type NetworkChange = 'wake' | 'network';

export interface NetworkWatchOptions {
  /** How often to look. */
  intervalMs: number;
  /** A tick this much later than due means the machine was asleep (timers do not run then). */
  wakeGapMs: number;
  onChange: (reason: NetworkChange) => void;
  /**
   * Whether anything could be affected (a connection, an address being dialed). While not,
   * the watch rests instead of waking every interval for nothing; `resume` restarts it.
   */
  needed?: () => boolean;
  clock?: Clock;
  /** The machine's addresses, as one comparable string; injected by tests. */
  addresses?: () => string;
}

/**
 * Notices what invalidates connections without closing them: a sleep (the gap between two
 * ticks is far longer than the interval) and a change of the machine's addresses (Wi-Fi to
 * Ethernet, a new DHCP lease, a VPN coming up). Polling, because Node has no portable
 * event for either; but only while there is something to invalidate: a daemon with no peers
 * rests (no timer at all) until `resume` says a connection or a dial appeared.
 */
export class NetworkWatch {
  private readonly clock: Clock;
  private readonly addresses: () => string;
  private handle: TimerHandle | undefined;
  private lastTick = 0;
  private lastAddresses = '';
  private stopped = true;
  private resting = false;

  constructor(private readonly options: NetworkWatchOptions) {
    this.clock = options.clock ?? systemClock;
    this.addresses = options.addresses ?? currentAddresses;
  }

  start(): void {
    this.stopped = false;
    this.begin();
  }

  /**
   * Something to watch for appeared: a resting watch starts looking again, from the addresses
   * of now (what changed while it rested concerns no connection of today).
   */
  resume(): void {
    if (this.stopped || !this.resting) return;
    this.begin();
  }

  stop(): void {
    this.stopped = true;
    this.resting = false;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private begin(): void {
    this.resting = this.options.needed?.() === false;
    if (this.resting) return;
    this.lastTick = this.clock.now();
    this.lastAddresses = this.addresses();
    this.schedule();
  }

  private schedule(): void {
    this.handle = this.clock.setTimeout(() => this.tick(), this.options.intervalMs);
  }

  private tick(): void {
    this.handle = undefined;
    if (this.stopped) return;
    if (this.options.needed?.() === false) {
      this.resting = true;
      return;
    }
    const now = this.clock.now();
    const late = now - this.lastTick - this.options.intervalMs;
    this.lastTick = now;
    const addresses = this.addresses();
    const changed = addresses !== this.lastAddresses;
    this.lastAddresses = addresses;
    if (late >= this.options.wakeGapMs) this.options.onChange('wake');
    else if (changed) this.options.onChange('network');
    this.schedule();
  }
}

/** Every non-internal address with its interface, sorted: equal strings mean an unchanged network. */
export function currentAddresses(): string {
  const out: string[] = [];
  for (const [name, entries] of Object.entries(networkInterfaces())) {
    for (const entry of entries ?? []) if (!entry.internal) out.push(`${name}/${entry.address}`);
  }
  return out.sort().join(',');
}
