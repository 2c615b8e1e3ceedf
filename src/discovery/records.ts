import { isIP } from 'node:net';
import { SERVICE_TYPE, SERVICE_TYPE_ENUMERATION } from './service-names.js';

/** A resource record as dns-packet (under multicast-dns and bonjour-service) reads and writes it. */
export interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  class?: string;
  /** mDNS cache-flush bit (RFC 6762 §10.2): "this is the whole set; drop older ones". */
  flush?: boolean;
  data: unknown;
}

export interface DnsQuestion {
  name: string;
  type: 'PTR' | 'SRV' | 'TXT' | 'A' | 'AAAA' | 'ANY';
}

/**
 * Record lifetimes, seconds. RFC 6762 §10 recommends 120 s for records that name a host (SRV,
 * A, AAAA) and 75 minutes for the rest. 120 s bounds how long a peer that vanished without a
 * goodbye (crash, cable pulled) stays listed.
 */
export const TTL = { ptr: 4500, srv: 120, txt: 4500, address: 120 } as const;

/** What we advertise: the instance, its SRV target, port, TXT strings. */
export interface Advertisement {
  instance: string;
  host: string;
  port: number;
  txt: Buffer[];
}

/**
 * PTR (type → instance), the type-enumeration PTR, SRV and TXT. SRV and TXT are unique to us,
 * so they carry the cache-flush bit: a port change replaces the old SRV at once.
 */
export function serviceRecords(ad: Advertisement): DnsRecord[] {
  return [
    { name: SERVICE_TYPE, type: 'PTR', ttl: TTL.ptr, data: ad.instance },
    { name: ad.instance, type: 'SRV', ttl: TTL.srv, flush: true, data: { priority: 0, weight: 0, port: ad.port, target: ad.host } },
    { name: ad.instance, type: 'TXT', ttl: TTL.txt, flush: true, data: ad.txt },
    { name: SERVICE_TYPE_ENUMERATION, type: 'PTR', ttl: TTL.ptr, data: SERVICE_TYPE },
  ];
}

/**
 * A and AAAA records for the addresses advertised on one link. No cache-flush bit on purpose:
 * with interfaces selected, each link advertises only its own addresses, and a flush from one
 * link would wipe the other's in a cache that hears both. Removed addresses get a goodbye.
 */
export function addressRecords(host: string, addresses: readonly string[]): DnsRecord[] {
  return addresses.map((address) => ({ name: host, type: isIP(address) === 6 ? 'AAAA' : 'A', ttl: TTL.address, data: address }));
}

/**
 * The same records with TTL 0: a goodbye (RFC 6762 §10.1). The type-enumeration PTR is left
 * out: it is shared by every clipsync daemon, and saying goodbye to it would hide the others.
 */
export function goodbyeRecords(records: readonly DnsRecord[]): DnsRecord[] {
  return records.filter((r) => r.name !== SERVICE_TYPE_ENUMERATION).map((r) => ({ ...r, ttl: 0 }));
}
