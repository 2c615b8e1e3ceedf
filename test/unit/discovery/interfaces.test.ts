import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isClipsyncError } from '../../../src/core/errors.js';
import { canonicalIp, isDialableAddress, resolveLinks, sortAddresses, validateInterfaceSelection, type InterfaceTable } from '../../../src/discovery/interfaces.js';

function nic(address: string, internal = false): NetworkInterfaceInfo {
  return address.includes(':')
    ? { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal, cidr: `${address}/64`, scopeid: 0 }
    : { address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: `${address}/24` };
}

const table: InterfaceTable = {
  lo: [nic('127.0.0.1', true), nic('::1', true)],
  eth0: [nic('192.168.1.5'), nic('fd00::5'), nic('fe80::5')],
  wlan0: [nic('10.0.0.7'), nic('10.0.0.8')],
  tun0: [nic('fd99::1')],
};

const v4 = (name: string, address: string, addresses: string[]) => ({ key: `${name}/${address}`, family: 'IPv4', interfaceName: name, multicastInterface: address, addresses });
const v6 = (name: string, addresses: string[]) => ({ key: `${name}/ipv6`, family: 'IPv6', interfaceName: name, multicastInterface: `::%${name}`, addresses });

describe('resolveLinks', () => {
  it('with no selection: IPv4 on the default route advertising every external address, and IPv6 on each interface that has it', () => {
    expect(resolveLinks([], table)).toEqual({
      links: [
        { key: 'all', family: 'IPv4', addresses: ['10.0.0.7', '10.0.0.8', '192.168.1.5', 'fd00::5', 'fd99::1'] },
        // ff02::fb needs an interface: one link each, advertising that interface's addresses.
        v6('eth0', ['192.168.1.5', 'fd00::5']),
        v6('tun0', ['fd99::1']),
      ],
      problems: [],
    });
  });

  it('an interface with only a link-local IPv6 address still gets an IPv6 link, advertising no IPv6', () => {
    const links = resolveLinks([], { lo: table['lo'], eth1: [nic('10.1.1.1'), nic('fe80::1')] }).links;
    expect(links).toEqual([{ key: 'all', family: 'IPv4', addresses: ['10.1.1.1'] }, v6('eth1', ['10.1.1.1'])]);
  });

  it('a name selects the interface with all its addresses, over both families (link-local IPv6 never advertised)', () => {
    expect(resolveLinks(['eth0'], table).links).toEqual([v4('eth0', '192.168.1.5', ['192.168.1.5', 'fd00::5']), v6('eth0', ['192.168.1.5', 'fd00::5'])]);
  });

  it('an address selects its interface but advertises only the addresses given', () => {
    expect(resolveLinks(['10.0.0.8'], table).links).toEqual([v4('wlan0', '10.0.0.8', ['10.0.0.8'])]);
    // IPv6 spelled differently is the same address; eth0 still runs both families.
    expect(resolveLinks(['fd00:0::5'], table).links).toEqual([v4('eth0', '192.168.1.5', ['fd00::5']), v6('eth0', ['fd00::5'])]);
  });

  it('several entries make one link per interface and family', () => {
    const { links } = resolveLinks(['eth0', 'wlan0', '10.0.0.7'], table);
    expect(links.map((l) => l.key)).toEqual(['eth0/192.168.1.5', 'eth0/ipv6', 'wlan0/10.0.0.7']);
    expect(links[2]!.addresses).toEqual(['10.0.0.7', '10.0.0.8']);
  });

  it('an interface with only IPv6 runs IPv6 alone; missing interfaces and ones with no address are problems, not errors', () => {
    const withBare = { ...table, bare0: [] };
    expect(resolveLinks(['wlan9', 'tun0', 'eth0', 'bare0'], withBare)).toEqual({
      links: [v6('tun0', ['fd99::1']), expect.objectContaining({ key: 'eth0/192.168.1.5' }), expect.objectContaining({ key: 'eth0/ipv6' })],
      problems: ['no interface is named wlan9 or has that address', 'interface bare0 has no IP address to run mDNS on'],
    });
  });
});

describe('validateInterfaceSelection', () => {
  it('trims entries and refuses what cannot be an interface, with CLIPSYNC_ERR_CONFIG', () => {
    expect(validateInterfaceSelection([' eth0 ', '10.0.0.1'])).toEqual(['eth0', '10.0.0.1']);
    for (const bad of ['', '  ', 'eth 0', 42, null, 'x'.repeat(65)]) {
      try {
        validateInterfaceSelection([bad]);
        throw new Error(`accepted ${String(bad)}`);
      } catch (err) {
        expect(isClipsyncError(err) && err.code).toBe('CLIPSYNC_ERR_CONFIG');
      }
    }
  });
});

describe('addresses', () => {
  it('canonicalIp gives one spelling per address', () => {
    expect(canonicalIp('FD00:0000::0001')).toBe('fd00::1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('eth0')).toBeUndefined();
  });

  it('isDialableAddress refuses what a dialer must never be pointed at', () => {
    for (const ok of ['10.0.0.1', '192.168.1.1', '169.254.1.1', 'fd00::1', '2001:db8::1']) expect(isDialableAddress(ok)).toBe(true);
    for (const bad of ['127.0.0.1', '0.0.0.0', '224.0.0.251', '255.255.255.255', '::', '::1', 'fe80::1', 'ff02::fb', '::ffff:10.0.0.1', 'nonsense']) {
      expect(isDialableAddress(bad)).toBe(false);
    }
  });

  it('sortAddresses: IPv4 first, no duplicates', () => {
    expect(sortAddresses(['fd00::1', '10.0.0.2', '10.0.0.1', 'fd00::1'])).toEqual(['10.0.0.1', '10.0.0.2', 'fd00::1']);
  });
});
