import type { DiscoveredPeer } from './discovered-peer.js';
import { canonicalIp, isDialableAddress, sortAddresses, type LinkFamily } from './interfaces.js';
import type { DnsQuestion, DnsRecord } from './records.js';
import { SERVICE_TYPE, dnsKey, isInstanceOfService } from './service-names.js';
import { parseTxtRecord, type TxtParseResult } from './txt-record.js';

/**
 * What the browser knows about `_clipsync._tcp` instances, built from mDNS responses. Pure:
 * it is fed records and the current time and answers what to list, what to ask and when to
 * look again, so TTL expiry and re-query timing are tested by passing numbers.
 *
 * bonjour-service's Browser is not used for this because it takes the PTR's TTL (hours) as
 * the service lifetime, never refreshes `lastSeen` when a record is re-announced, never calls
 * its own expire(), sees only addresses that arrive in the same packet as the SRV, and
 * reports no address change. This cache keeps each record with its own TTL (RFC 6762 §10),
 * re-asks at 80/85/90/95 % of the SRV lifetime (§5.2), honours goodbyes (§10.1) and the
 * cache-flush bit (§10.2), and caps what a hostile sender can make it store.
 */

/** Fractions of a record's lifetime at which RFC 6762 §5.2 says to re-query it. */
const REFRESH_POINTS = [0.8, 0.85, 0.9, 0.95] as const;
/** Plus up to 2 % of the lifetime at random, so a LAN full of caches does not ask in step. */
const REFRESH_JITTER = 0.02;
/** Longest TTL believed: a record claiming days would pin a stale address that long. */
const MAX_TTL_SECONDS = 4500;
/** RFC 6762 §10.2: a cache-flush only removes records received more than 1 s before. */
const FLUSH_GRACE_MS = 1000;
/**
 * A dual-stack peer says goodbye on each family, and its last announcement on one family can
 * arrive after the goodbye on the other: the two sockets keep no order between them. Without
 * care the peer would come back for a moment and leave again. So after a goodbye on one
 * family, records from a family that has not said goodbye yet are not taken back, until it
 * does or for at most this long. Packets on one family stay in order, so a peer that restarts
 * at once is heard again as soon as each family has carried its goodbye.
 */
const GOODBYE_HOLD_MS = 1000;
/**
 * Asking for a missing SRV, TXT or address: at once, then 1 s and 2 s after the previous ask;
 * after that the peer's own announcements and the periodic browse will have to do.
 */
const MISSING_QUERY_GAPS_MS = [0, 1000, 2000] as const;

export interface ServiceCacheOptions {
  /** Our own fingerprint: our own advertisement comes back to us and is never listed. */
  ownFingerprint?: string;
  /** Most instances kept (each a few hundred bytes); a flood beyond this is dropped. */
  maxInstances?: number;
  /** Most addresses kept per host name. */
  maxAddressesPerHost?: number;
  /** In [0, 1): Math.random in production, fixed in tests. */
  random?: () => number;
}

interface Lifetime {
  receivedAt: number;
  expiresAt: number;
}

interface Instance {
  name: string;
  ptr?: Lifetime;
  srv?: Lifetime & { target: string; port: number };
  txt?: Lifetime & { parsed: TxtParseResult };
  /** Index into REFRESH_POINTS of the next re-query of the SRV. */
  refreshStep: number;
  refreshJitter: number;
  /** Asks made for missing pieces since the instance was last complete, and when the last was. */
  missingQueries: number;
  lastMissingQueryAt: number;
  createdAt: number;
  /** The link families its records came in on: each says goodbye on its own. */
  families: Set<LinkFamily>;
}

export interface IngestResult {
  /** The packet held goodbyes (TTL 0) for something we had. */
  goodbye: boolean;
  /** TXT records refused, first time each distinct reason is seen for an instance. */
  rejected: { instance: string; reason: string }[];
}

export class ServiceCache {
  private readonly instances = new Map<string, Instance>();
  /** Address records by host name key, then canonical address. */
  private readonly hosts = new Map<string, Map<string, Lifetime & { family: 4 | 6 }>>();
  private readonly maxInstances: number;
  private readonly maxAddresses: number;
  private readonly random: () => number;
  /** Instances that said goodbye on some family: until when, and the families still to say it. */
  private readonly departed = new Map<string, { until: number; pending: Set<LinkFamily> }>();

  constructor(private readonly options: ServiceCacheOptions = {}) {
    this.maxInstances = options.maxInstances ?? 256;
    this.maxAddresses = options.maxAddressesPerHost ?? 16;
    this.random = options.random ?? Math.random;
  }

  /** Takes in every record of one response packet (answers and additionals alike). */
  ingest(records: readonly DnsRecord[], now: number, family?: LinkFamily): IngestResult {
    const result: IngestResult = { goodbye: false, rejected: [] };
    const valid = records.filter((r) => typeof r.name === 'string' && typeof r.ttl === 'number' && Number.isFinite(r.ttl) && r.ttl >= 0);
    for (const [key, { until }] of this.departed) if (until <= now) this.departed.delete(key);
    // Order matters: instances first, so the address records of a new SRV target in the same
    // packet are recognised as belonging to someone we list.
    for (const r of valid) if (r.type === 'PTR') this.takePtr(r, now, result, family);
    for (const r of valid) if (r.type === 'SRV') this.takeSrv(r, now, result, family);
    for (const r of valid) if (r.type === 'TXT') this.takeTxt(r, now, result);
    this.takeAddresses(
      valid.filter((r) => r.type === 'A' || r.type === 'AAAA'),
      now,
      result,
    );
    this.dropUnreferencedHosts();
    for (const instance of this.instances.values()) if (!this.isIncomplete(instance)) instance.missingQueries = 0;
    return result;
  }

  /** Drops everything whose TTL ran out by `now`. */
  expire(now: number): void {
    for (const [key, instance] of this.instances) {
      if (instance.txt !== undefined && instance.txt.expiresAt <= now) delete instance.txt;
      const srvGone = instance.srv !== undefined && instance.srv.expiresAt <= now;
      const ptrGone = instance.ptr !== undefined && instance.ptr.expiresAt <= now;
      if (srvGone || ptrGone) this.instances.delete(key);
    }
    for (const addresses of this.hosts.values()) {
      for (const [address, life] of addresses) if (life.expiresAt <= now) addresses.delete(address);
    }
    this.dropUnreferencedHosts();
  }

  /** The peers to list now, one per fingerprint. */
  peers(): Map<string, DiscoveredPeer> {
    const out = new Map<string, DiscoveredPeer>();
    const seenAt = new Map<string, number>();
    for (const instance of this.instances.values()) {
      const peer = this.peerOf(instance);
      if (peer === undefined || peer.fingerprint === this.options.ownFingerprint) continue;
      // Two instances claiming one key (a reinstalled daemon whose old records linger, or
      // someone replaying the key): list the one heard from most recently.
      const heard = instance.srv!.receivedAt;
      const best = seenAt.get(peer.fingerprint);
      if (best !== undefined && (best > heard || (best === heard && out.get(peer.fingerprint)!.instance < peer.instance))) continue;
      out.set(peer.fingerprint, peer);
      seenAt.set(peer.fingerprint, heard);
    }
    return out;
  }

  /** Questions to send now: refreshes of records near their end, and missing pieces. */
  dueQueries(now: number): DnsQuestion[] {
    const questions = new Map<string, DnsQuestion>();
    const ask = (name: string, type: DnsQuestion['type']): void => void questions.set(`${dnsKey(name)} ${type}`, { name, type });
    for (const instance of this.instances.values()) {
      const srv = instance.srv;
      if (srv === undefined) {
        if (this.missingQueryAt(instance) <= now) {
          this.countMissingQuery(instance, now);
          ask(instance.name, 'SRV');
          ask(instance.name, 'TXT');
        }
        continue;
      }
      let refresh = false;
      while (instance.refreshStep < REFRESH_POINTS.length && this.refreshAt(instance) <= now) {
        instance.refreshStep++;
        refresh = true;
      }
      const missing = this.isIncomplete(instance) && this.missingQueryAt(instance) <= now;
      if (missing) this.countMissingQuery(instance, now);
      if (refresh || missing) {
        ask(instance.name, 'SRV');
        ask(instance.name, 'TXT');
        ask(srv.target, 'A');
        ask(srv.target, 'AAAA');
      }
    }
    return [...questions.values()];
  }

  /** When something next expires or is due for a query; undefined when the cache is empty. */
  nextDeadline(): number | undefined {
    let next = Infinity;
    for (const instance of this.instances.values()) {
      if (instance.srv !== undefined) next = Math.min(next, instance.srv.expiresAt);
      if (instance.ptr !== undefined) next = Math.min(next, instance.ptr.expiresAt);
      if (instance.txt !== undefined) next = Math.min(next, instance.txt.expiresAt);
      if (instance.srv !== undefined && instance.refreshStep < REFRESH_POINTS.length) next = Math.min(next, this.refreshAt(instance));
      if (instance.srv === undefined || this.isIncomplete(instance)) next = Math.min(next, this.missingQueryAt(instance));
    }
    for (const addresses of this.hosts.values()) for (const life of addresses.values()) next = Math.min(next, life.expiresAt);
    return next === Infinity ? undefined : next;
  }

  /** How many instances are held (listed or not); for tests and debug logs. */
  get size(): number {
    return this.instances.size;
  }

  private takePtr(r: DnsRecord, now: number, result: IngestResult, family: LinkFamily | undefined): void {
    if (dnsKey(r.name) !== SERVICE_TYPE || typeof r.data !== 'string' || !isInstanceOfService(r.data)) return;
    const key = dnsKey(r.data);
    if (r.ttl === 0) {
      if (this.forget(key, now, family)) result.goodbye = true;
      return;
    }
    const instance = this.instanceFor(r.data, now, family);
    if (instance !== undefined) instance.ptr = lifetime(r.ttl, now);
  }

  private takeSrv(r: DnsRecord, now: number, result: IngestResult, family: LinkFamily | undefined): void {
    if (!isInstanceOfService(r.name)) return;
    if (r.ttl === 0) {
      if (this.forget(dnsKey(r.name), now, family)) result.goodbye = true;
      return;
    }
    const data = r.data as { port?: unknown; target?: unknown } | null;
    const port = data?.port;
    const target = data?.target;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return;
    if (typeof target !== 'string' || target.length === 0 || target.length > 255) return;
    const instance = this.instanceFor(r.name, now, family);
    if (instance === undefined) return;
    instance.srv = { ...lifetime(r.ttl, now), target, port };
    instance.refreshStep = 0;
    instance.refreshJitter = this.random() * REFRESH_JITTER;
  }

  private takeTxt(r: DnsRecord, now: number, result: IngestResult): void {
    if (!isInstanceOfService(r.name)) return;
    // A TXT alone does not create an instance: the SRV says where it is, and comes first in
    // any packet that carries both.
    const instance = this.instances.get(dnsKey(r.name));
    if (instance === undefined) return;
    if (r.ttl === 0) {
      if (instance.txt !== undefined) result.goodbye = true;
      delete instance.txt;
      return;
    }
    const strings = Array.isArray(r.data) ? (r.data as unknown[]) : [r.data];
    const parsed = strings.every((s) => s instanceof Uint8Array)
      ? parseTxtRecord(strings as Uint8Array[])
      : ({ ok: false, reason: 'the TXT record is not binary data' } as const);
    const before = instance.txt?.parsed;
    if (!parsed.ok && (before === undefined || before.ok || before.reason !== parsed.reason)) {
      result.rejected.push({ instance: instance.name, reason: parsed.reason });
    }
    instance.txt = { ...lifetime(r.ttl, now), parsed };
  }

  private takeAddresses(records: readonly DnsRecord[], now: number, result: IngestResult): void {
    const targets = new Set<string>();
    for (const instance of this.instances.values()) if (instance.srv !== undefined) targets.add(dnsKey(instance.srv.target));
    const flushed = new Set<string>();
    for (const r of records) {
      const host = dnsKey(r.name);
      if (!targets.has(host) || typeof r.data !== 'string') continue;
      const address = canonicalIp(r.data);
      const family = r.type === 'A' ? 4 : 6;
      if (address === undefined || (family === 4) !== !address.includes(':')) continue;
      let addresses = this.hosts.get(host);
      if (r.ttl === 0) {
        if (addresses?.delete(address) === true) result.goodbye = true;
        continue;
      }
      if (!isDialableAddress(address)) continue;
      if (addresses === undefined) this.hosts.set(host, (addresses = new Map()));
      if (r.flush === true && !flushed.has(`${host} ${family}`)) {
        flushed.add(`${host} ${family}`);
        for (const [old, life] of addresses) if (life.family === family && life.receivedAt < now - FLUSH_GRACE_MS) addresses.delete(old);
      }
      if (!addresses.has(address) && addresses.size >= this.maxAddresses) continue;
      addresses.set(address, { ...lifetime(r.ttl, now), family });
    }
  }

  /** The instance for a name, created if there is room (evicting one we cannot list). */
  private instanceFor(name: string, now: number, family: LinkFamily | undefined): Instance | undefined {
    const key = dnsKey(name);
    const known = this.instances.get(key);
    if (known !== undefined) {
      if (family !== undefined) known.families.add(family);
      return known;
    }
    // A late record from before its goodbye, on a family whose own goodbye has not come yet.
    if (family !== undefined && this.departed.get(key)?.pending.has(family) === true) return undefined;
    this.departed.delete(key);
    if (this.instances.size >= this.maxInstances && !this.evictOne()) return undefined;
    const instance: Instance = { name, refreshStep: 0, refreshJitter: 0, missingQueries: 0, lastMissingQueryAt: now, createdAt: now, families: new Set(family === undefined ? [] : [family]) };
    this.instances.set(key, instance);
    return instance;
  }

  /** A goodbye: drops the instance and holds off its stragglers on other families. True if it was held. */
  private forget(key: string, now: number, family: LinkFamily | undefined): boolean {
    const instance = this.instances.get(key);
    if (instance === undefined) {
      const departed = this.departed.get(key);
      if (departed !== undefined && family !== undefined) departed.pending.delete(family);
      if (departed?.pending.size === 0) this.departed.delete(key);
      return false;
    }
    this.instances.delete(key);
    const pending = new Set([...instance.families].filter((f) => f !== family));
    if (family !== undefined && pending.size > 0) this.departed.set(key, { until: now + GOODBYE_HOLD_MS, pending });
    return true;
  }

  /** Makes room by dropping the oldest instance that is not listable (a flood of junk). */
  private evictOne(): boolean {
    let victim: [string, Instance] | undefined;
    for (const entry of this.instances) {
      if (this.peerOf(entry[1]) !== undefined) continue;
      if (victim === undefined || entry[1].createdAt < victim[1].createdAt) victim = entry;
    }
    if (victim === undefined) return false;
    this.instances.delete(victim[0]);
    return true;
  }

  private peerOf(instance: Instance): DiscoveredPeer | undefined {
    const { srv, txt } = instance;
    if (srv === undefined || txt === undefined || !txt.parsed.ok) return undefined;
    const addresses = this.hosts.get(dnsKey(srv.target));
    if (addresses === undefined || addresses.size === 0) return undefined;
    const record = txt.parsed.record;
    const peer: DiscoveredPeer = {
      fingerprint: record.fingerprint,
      name: record.name,
      version: record.version,
      addresses: sortAddresses(addresses.keys()),
      port: srv.port,
      txt: record.entries,
      instance: instance.name,
      host: srv.target,
    };
    if (record.publicKey !== undefined) peer.publicKey = record.publicKey;
    return peer;
  }

  private isIncomplete(instance: Instance): boolean {
    if (instance.txt === undefined) return true;
    const addresses = instance.srv === undefined ? undefined : this.hosts.get(dnsKey(instance.srv.target));
    return addresses === undefined || addresses.size === 0;
  }

  private missingQueryAt(instance: Instance): number {
    const gap = MISSING_QUERY_GAPS_MS[instance.missingQueries];
    return gap === undefined ? Infinity : instance.lastMissingQueryAt + gap;
  }

  private countMissingQuery(instance: Instance, now: number): void {
    instance.missingQueries++;
    instance.lastMissingQueryAt = now;
  }

  private refreshAt(instance: Instance): number {
    const srv = instance.srv!;
    const ttl = srv.expiresAt - srv.receivedAt;
    return srv.receivedAt + ttl * (REFRESH_POINTS[instance.refreshStep]! + instance.refreshJitter);
  }

  private dropUnreferencedHosts(): void {
    const targets = new Set<string>();
    for (const instance of this.instances.values()) if (instance.srv !== undefined) targets.add(dnsKey(instance.srv.target));
    for (const host of this.hosts.keys()) if (!targets.has(host)) this.hosts.delete(host);
  }
}

function lifetime(ttlSeconds: number, now: number): Lifetime {
  return { receivedAt: now, expiresAt: now + Math.min(ttlSeconds, MAX_TTL_SECONDS) * 1000 };
}
