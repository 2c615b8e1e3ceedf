import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { fail } from '../errors.js';

/** What os.networkInterfaces() returns; injected so tests can move addresses around. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * One mDNS socket's worth of network: where it listens and sends, and which of our addresses
 * it advertises. mDNS runs over IPv4 (224.0.0.251:5353); the records carry IPv4 and IPv6.
 */
export interface LinkSpec {
  /** Stable identity across address polls: `all`, or `<interface>/<ipv4>`. */
  key: string;
  /** The interface, when the user chose interfaces; undefined for the kernel's default route. */
  interfaceName?: string;
  /** The IPv4 address that names the interface to the socket (IP_ADD_MEMBERSHIP / IP_MULTICAST_IF). */
  multicastAddress?: string;
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
 * Turns the interface selection into links. No selection: one link on the kernel's default
 * multicast route, advertising every external address. A name selects that interface with
 * all its addresses; an address selects its interface but advertises only the addresses
 * given. Interfaces that are missing or lack IPv4 are reported as problems, not errors: a
 * Wi-Fi interface may come up after the daemon, and the next poll picks it up.
 */
export function resolveLinks(selection: readonly string[], table: InterfaceTable): ResolvedLinks {
  if (selection.length === 0) {
    const addresses = Object.values(table).flatMap((infos) => (infos ?? []).filter(isAdvertisable).map((i) => i.address));
    return { links: [{ key: 'all', addresses: sortAddresses(addresses) }], problems: [] };
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
    const multicast = infos.find((i) => i.family === 'IPv4' && choice.addresses.has(i.address)) ?? infos.find((i) => i.family === 'IPv4');
    if (multicast === undefined) {
      problems.push(`interface ${name} has no IPv4 address, and mDNS runs over IPv4 multicast`);
      continue;
    }
    const advertised = infos
      .filter(isAdvertisable)
      .map((i) => i.address)
      .filter((address) => choice.all || choice.addresses.has(address));
    links.push({ key: `${name}/${multicast.address}`, interfaceName: name, multicastAddress: multicast.address, addresses: sortAddresses(advertised) });
  }
  return { links, problems };
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
