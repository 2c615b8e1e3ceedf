import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { fail, messageOf } from '../core/errors.js';
import type { PublicKey } from '../identity/public-key.js';
import type { Logger } from '../core/log.js';
import { Advertiser } from './advertiser.js';
import { Timer, systemClock, type Clock } from '../core/clock.js';
import { diffPeers, type DiscoveredPeer, type DownReason } from './discovered-peer.js';
import { validateInterfaceSelection, type InterfaceTable, type LinkFamily } from './interfaces.js';
import { DISABLED_HINT, LinkSet } from './link-set.js';
import type { SocketFactory } from './mdns-link.js';
import type { DnsRecord } from './records.js';
import { ServiceCache } from './service-cache.js';
import { SERVICE_TYPE, hostName, instanceName } from './service-names.js';
import { encodeTxtRecord } from './txt-record.js';

export type { DiscoveredPeer, DownReason } from './discovered-peer.js';

export interface DiscoveryOptions {
  /** Our key: its fingerprint goes in the TXT record (and the key itself when it fits). */
  publicKey: PublicKey;
  /** Our device name as peers should see it (cleaned and cut to 63 bytes if need be). */
  name: string;
  /** The protocol version we speak (`v` in the TXT record). */
  protocolVersion: number;
  /** The TCP port peers should dial. Omit to browse without advertising (no TCP listener). */
  port?: number;
  /**
   * Interface names or addresses to use (each over IPv4 and IPv6, as it has them). Empty or
   * omitted: IPv4 on the default multicast route, and IPv6 on every interface that has it.
   */
  interfaces?: readonly string[];
  /** A child logger with `component: 'discovery'` is made from this. */
  log: Logger;
  clock?: Clock;
  /** How often interfaces and addresses are re-read; a disabled discovery retries as often. */
  pollIntervalMs?: number;
  /** Browse queries go out 1 s after start, then at doubling gaps up to this. */
  maxBrowseIntervalMs?: number;
  /** Injected for tests: the interface table (os.networkInterfaces) and the UDP socket. */
  networkInterfaces?: () => InterfaceTable;
  socketFactory?: SocketFactory;
  random?: () => number;
}

/**
 * `running`: at least one link (of either family) works. `disabled`: none can multicast (no route, no usable
 * interface); static peers still work and every poll tries again. `stopped`: before start()
 * or after stop().
 */
export type DiscoveryState = 'stopped' | 'running' | 'disabled';

export interface DiscoveryEvents {
  /** A peer appeared (first complete record set: TXT, SRV and at least one address). */
  up: [peer: DiscoveredPeer];
  /** A listed peer's addresses, port, name or TXT changed. */
  update: [peer: DiscoveredPeer, previous: DiscoveredPeer];
  /** A peer left: it said goodbye, its records expired, or they stopped qualifying. */
  down: [peer: DiscoveredPeer, reason: DownReason];
  /** The state changed; `reason` says why when it is `disabled`. */
  state: [state: DiscoveryState, reason?: string];
}

export const DEFAULT_POLL_INTERVAL_MS = 5000;
export const DEFAULT_MAX_BROWSE_INTERVAL_MS = 60_000;
const FIRST_BROWSE_GAP_MS = 1000;

/**
 * mDNS discovery of clipsync daemons (`_clipsync._tcp`): advertises ours, browses for others
 * and reports them as `up` / `update` / `down`, keyed by key fingerprint (our own is never
 * reported). Built from small parts: LinkSet (bonjour-service responders, one per link),
 * Advertiser (our records), ServiceCache (what others advertise, with TTLs). All timing runs
 * on the injected clock.
 */
export class Discovery extends EventEmitter<DiscoveryEvents> {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly fingerprint: string;
  private readonly pollIntervalMs: number;
  private readonly links: LinkSet;
  private cache: ServiceCache;
  private listing = new Map<string, DiscoveredPeer>();
  private currentState: DiscoveryState = 'stopped';
  private active = false;
  /** Reconciles run one at a time; this is the tail of the chain. */
  private reconciling: Promise<void> = Promise.resolve();
  private browseGapMs = FIRST_BROWSE_GAP_MS;
  private readonly pollTimer: Timer;
  private readonly browseTimer: Timer;
  private readonly cacheTimer: Timer;

  constructor(private readonly options: DiscoveryOptions) {
    super();
    this.log = options.log.child({ component: 'discovery' });
    this.clock = options.clock ?? systemClock;
    this.fingerprint = options.publicKey.fingerprint;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.cache = this.newCache();
    const selection = validateInterfaceSelection(options.interfaces ?? []);
    this.links = new LinkSet(selection, options.networkInterfaces ?? networkInterfaces, this.makeAdvertiser(), this.log, options.socketFactory);
    this.links.on('opened', () => {
      // A new link has just sent its first browse query; follow up at the short gaps again.
      this.browseGapMs = FIRST_BROWSE_GAP_MS;
      this.browseTimer.set(this.browseGapMs);
    });
    this.links.on('response', (records, family) => this.onResponse(records, family));
    this.pollTimer = new Timer(this.clock, () => this.poll());
    this.browseTimer = new Timer(this.clock, () => this.browse());
    this.cacheTimer = new Timer(this.clock, () => this.onCacheDeadline());
  }

  get state(): DiscoveryState {
    return this.currentState;
  }

  /** The peers listed now. */
  peers(): DiscoveredPeer[] {
    return [...this.listing.values()];
  }

  /**
   * Opens the links, advertises and browses. Never rejects for network trouble: if no link
   * can multicast, discovery is `disabled` (with a warning) and retries at every poll.
   */
  async start(): Promise<void> {
    if (this.active) return this.reconciling;
    this.active = true;
    await this.reconcile();
    if (this.active) this.pollTimer.set(this.pollIntervalMs);
  }

  /** Says goodbye on every link, closes them and forgets what was seen. No events after this. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    for (const timer of [this.pollTimer, this.browseTimer, this.cacheTimer]) timer.clear();
    await this.reconciling;
    await this.links.closeAll();
    this.cache = this.newCache();
    this.listing = new Map();
    this.setState('stopped');
  }

  /** Sends a browse query now (e.g. when a user opens `clipsync pair`). */
  refresh(): void {
    if (this.active) this.links.query([{ name: SERVICE_TYPE, type: 'PTR' }]);
  }

  private makeAdvertiser(): Advertiser | undefined {
    const { port, name, protocolVersion, publicKey } = this.options;
    if (port === undefined) return undefined;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail('CLIPSYNC_ERR_CONFIG', `mDNS: cannot advertise port ${port}: not a TCP port`);
    const ad = {
      instance: instanceName(name, this.fingerprint),
      host: hostName(this.fingerprint),
      port,
      txt: encodeTxtRecord({ version: protocolVersion, name, publicKey }),
    };
    return new Advertiser(ad, this.clock, this.log);
  }

  private newCache(): ServiceCache {
    const options: ConstructorParameters<typeof ServiceCache>[0] = { ownFingerprint: this.fingerprint };
    if (this.options.random !== undefined) options.random = this.options.random;
    return new ServiceCache(options);
  }

  private poll(): void {
    if (!this.active) return;
    void this.reconcile().finally(() => {
      if (this.active) this.pollTimer.set(this.pollIntervalMs);
    });
  }

  /** Brings the links in line with the interfaces as they are now, then updates the state. */
  private reconcile(): Promise<void> {
    this.reconciling = this.reconciling
      .then(async () => {
        if (!this.active) return;
        const health = await this.links.reconcile(() => this.active);
        if (!this.active) return;
        if (health.usable) {
          if (this.currentState !== 'running') this.log.info({ links: this.links.keys() }, 'mDNS discovery is on');
          this.setState('running');
          return;
        }
        if (this.currentState !== 'disabled') {
          this.log.warn(
            { reason: health.reason, codes: health.codes, hint: DISABLED_HINT },
            `mDNS discovery is off (${health.reason}); static peers still work, and it retries every ${Math.round(this.pollIntervalMs / 1000)} s`,
          );
        }
        this.setState('disabled', health.reason);
      })
      .catch((err: unknown) => {
        this.log.error({ err: messageOf(err) }, 'discovery: unexpected error while updating links');
      });
    return this.reconciling;
  }

  private setState(state: DiscoveryState, reason?: string): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state', state, reason);
  }

  private browse(): void {
    if (!this.active || this.links.size === 0) return;
    this.links.query([{ name: SERVICE_TYPE, type: 'PTR' }]);
    this.browseGapMs = Math.min(this.browseGapMs * 2, this.options.maxBrowseIntervalMs ?? DEFAULT_MAX_BROWSE_INTERVAL_MS);
    this.browseTimer.set(this.browseGapMs);
  }

  private onResponse(records: DnsRecord[], family: LinkFamily): void {
    if (!this.active) return;
    const result = this.cache.ingest(records, this.clock.now(), family);
    for (const { instance, reason } of result.rejected) this.log.debug({ instance, reason }, 'ignoring an invalid clipsync TXT record');
    this.publish(result.goodbye ? 'goodbye' : 'withdrawn');
    this.afterCacheChange();
  }

  private onCacheDeadline(): void {
    if (!this.active) return;
    this.cache.expire(this.clock.now());
    this.publish('expired');
    this.afterCacheChange();
  }

  /** Sends the queries the cache wants now and wakes up at its next deadline. */
  private afterCacheChange(): void {
    const now = this.clock.now();
    const questions = this.cache.dueQueries(now);
    if (questions.length > 0) this.links.query(questions);
    const next = this.cache.nextDeadline();
    if (next === undefined) this.cacheTimer.clear();
    else this.cacheTimer.set(next - now);
  }

  /** Emits the difference between what was listed and what the cache lists now. */
  private publish(reason: DownReason): void {
    const after = this.cache.peers();
    const changes = diffPeers(this.listing, after, reason);
    this.listing = after;
    for (const change of changes) {
      const { peer } = change;
      const fields = { peer: peer.fingerprint, name: peer.name, addresses: peer.addresses, port: peer.port };
      if (change.type === 'up') {
        this.log.info(fields, 'peer discovered');
        this.emit('up', peer);
      } else if (change.type === 'update') {
        this.log.info(fields, 'discovered peer changed');
        this.emit('update', peer, change.previous);
      } else {
        this.log.info({ ...fields, reason: change.reason }, 'discovered peer gone');
        this.emit('down', peer, change.reason);
      }
    }
  }
}
