import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { fail } from '../core/errors.js';

/** What os.networkInterfaces() returns; injected so tests can move addresses around. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The mDNS group for IPv6, link-local scope (RFC 6762 §3; IPv4 uses 224.0.0.251), UDP port 5353. */
export const MDNS_IPV6_GROUP = 'ff02::fb';

export type LinkFamily = 'IPv4' | 'IPv6';

/**
 * One mDNS socket's worth of network: which family and group it speaks, where it listens and
 * sends, and which of our addresses it advertises. The records carry IPv4 and IPv6 addresses
 * whichever family carries them, so a peer that hears only one family still learns both.
 */
export interface LinkSpec {
  /** Stable identity across address polls: `all` (IPv4 default route), `<interface>/<ipv4>` or `<interface>/ipv6`. */
  key: string;
  family: LinkFamily;
  /** The interface; undefined only for the IPv4 link that follows the kernel's default route. */
  interfaceName?: string;
  /**
   * What names the interface to the socket. IPv4: the interface's address (IP_ADD_MEMBERSHIP,
   * IP_MULTICAST_IF). IPv6: `::%<interface>`, since ff02::fb is link-scoped and the scope is
   * the interface itself (IPV6_JOIN_GROUP, IPV6_MULTICAST_IF take its index).
   */
  multicastInterface?: string;
  /** Our addresses advertised on this link, IPv4 first, sorted. */
  addresses: string[];
}

export interface ResolvedLinks {
  links: LinkSpec[];
  /** Selected interfaces that cannot be used right now, one sentence each. */
  problems: string[];
}

const MAX_SELECTION_ENTRIES = 64;

/** Checks the `interfaces` option; throws CLIPSYNC_ERR_CONFIG naming the bad entry. */
export function validateInterfaceSelection(selection: readonly unknown[]): string[] {
  if (selection.length > MAX_SELECTION_ENTRIES) {
    throw fail('CLIPSYNC_ERR_CONFIG', `mDNS interfaces: at most ${MAX_SELECTION_ENTRIES} entries`);
  }
  return selection.map((entry) => {
    if (typeof entry !== 'string' || entry.trim() === '' || entry.length > 64 || /\s/.test(entry.trim())) {
      throw fail('CLIPSYNC_ERR_CONFIG', `mDNS interfaces: ${JSON.stringify(entry)} is not an interface name or an IP address`, {
        hint: 'use names as `ip link` shows them (eth0, wlan0) or addresses of this machine',
      });
    }
    return entry.trim();
  });
}

/**
 * Turns the interface selection into links. No selection: one IPv4 link on the kernel's
 * default multicast route, advertising every external address, plus one IPv6 link per
 * external interface with IPv6, advertising that interface's addresses (ff02::fb is
 * link-scoped: there is no default route to follow, a socket must name its interface). A name
 * selects that interface with all its addresses; an address selects its interface but
 * advertises only the addresses given. Either way the interface gets a link per family it
 * has. Interfaces that are missing or have no address are reported as problems, not errors: a
 * Wi-Fi interface may come up after the daemon, and the next poll picks it up.
 */
export function resolveLinks(selection: readonly string[], table: InterfaceTable): ResolvedLinks {
  if (selection.length === 0) {
    const addresses = Object.values(table).flatMap((infos) => (infos ?? []).filter(isAdvertisable).map((i) => i.address));
    const links: LinkSpec[] = [{ key: 'all', family: 'IPv4', addresses: sortAddresses(addresses) }];
    for (const [name, infos] of Object.entries(table)) {
      const external = (infos ?? []).filter((i) => !i.internal);
      if (external.some((i) => i.family === 'IPv6')) links.push(ipv6Link(name, external.filter(isAdvertisable).map((i) => i.address)));
    }
    return { links, problems: [] };
  }

  const chosen = new Map<string, { all: boolean; addresses: Set<string> }>();
  const problems: string[] = [];
  for (const entry of selection) {
    const found = findInterface(entry, table);
    if (found === undefined) {
      problems.push(`no interface is named ${entry} or has that address`);
      continue;
    }
    const choice = chosen.get(found.name) ?? { all: false, addresses: new Set<string>() };
    if (found.address === undefined) choice.all = true;
    else choice.addresses.add(found.address);
    chosen.set(found.name, choice);
  }

  const links: LinkSpec[] = [];
  for (const [name, choice] of chosen) {
    const infos = table[name] ?? [];
    const ipv4 = infos.find((i) => i.family === 'IPv4' && choice.addresses.has(i.address)) ?? infos.find((i) => i.family === 'IPv4');
    const hasIpv6 = infos.some((i) => i.family === 'IPv6');
    if (ipv4 === undefined && !hasIpv6) {
      problems.push(`interface ${name} has no IP address to run mDNS on`);
      continue;
    }
    const advertised = infos
      .filter(isAdvertisable)
      .map((i) => i.address)
      .filter((address) => choice.all || choice.addresses.has(address));
    if (ipv4 !== undefined) {
      links.push({ key: `${name}/${ipv4.address}`, family: 'IPv4', interfaceName: name, multicastInterface: ipv4.address, addresses: sortAddresses(advertised) });
    }
    if (hasIpv6) links.push(ipv6Link(name, advertised));
  }
  return { links, problems };
}

/**
 * The IPv6 link of one interface. Its key does not carry an address: the interface is the
 * scope, and the link-local address the kernel sends from is never advertised anyway.
 */
function ipv6Link(name: string, addresses: string[]): LinkSpec {
  return { key: `${name}/ipv6`, family: 'IPv6', interfaceName: name, multicastInterface: `::%${name}`, addresses: sortAddresses(addresses) };
}

/** An address worth advertising: reachable from another machine without a zone index. */
function isAdvertisable(info: NetworkInterfaceInfo): boolean {
  if (info.internal) return false;
  return info.family === 'IPv4' || !isLinkLocalIPv6(info.address);
}

function findInterface(entry: string, table: InterfaceTable): { name: string; address?: string } | undefined {
  if (table[entry] !== undefined) return { name: entry };
  const wanted = canonicalIp(entry);
  if (wanted === undefined) return undefined;
  for (const [name, infos] of Object.entries(table)) {
    const info = (infos ?? []).find((i) => canonicalIp(i.address) === wanted);
    if (info !== undefined) return { name, address: info.address };
  }
  return undefined;
}

/** One spelling per address (`fd77:0::2` and `fd77::2` are the same); undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const bare = text.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return undefined;
  // The WHATWG URL parser prints IPv6 in RFC 5952 form, which is exactly a canonical spelling.
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
}

export function isLinkLocalIPv6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * Whether an address received from the network is worth handing to a dialer: not loopback,
 * unspecified, multicast or broadcast (a record claiming 127.0.0.1 would make us dial
 * ourselves), and not IPv6 link-local (useless without knowing the zone it came from).
 */
export function isDialableAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    return first !== 0 && first !== 127 && first < 224;
  }
  if (family === 6) {
    const canonical = canonicalIp(address);
    if (canonical === undefined || canonical === '::' || canonical === '::1') return false;
    if (/^ff/i.test(canonical) || isLinkLocalIPv6(canonical)) return false;
    if (/^::ffff:/i.test(canonical)) return false; // IPv4-mapped: the A record says it better
    return true;
  }
  return false;
}

/** IPv4 before IPv6, then by text: a stable order so "did the addresses change" is an equality. */
export function sortAddresses(addresses: Iterable<string>): string[] {
  return [...new Set(addresses)].sort((a, b) => isIP(a) - isIP(b) || (a < b ? -1 : a > b ? 1 : 0));
}
