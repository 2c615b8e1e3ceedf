import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isClipsyncError } from '../../../src/errors.js';
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

describe('resolveLinks', () => {
  it('with no selection: one link on the default route advertising every external address', () => {
    expect(resolveLinks([], table)).toEqual({
      links: [{ key: 'all', addresses: ['10.0.0.7', '10.0.0.8', '192.168.1.5', 'fd00::5', 'fd99::1'] }],
      problems: [],
    });
  });

  it('a name selects the interface with all its addresses (link-local IPv6 left out)', () => {
    expect(resolveLinks(['eth0'], table).links).toEqual([
      { key: 'eth0/192.168.1.5', interfaceName: 'eth0', multicastAddress: '192.168.1.5', addresses: ['192.168.1.5', 'fd00::5'] },
    ]);
  });

  it('an address selects its interface but advertises only the addresses given', () => {
    expect(resolveLinks(['10.0.0.8'], table).links).toEqual([{ key: 'wlan0/10.0.0.8', interfaceName: 'wlan0', multicastAddress: '10.0.0.8', addresses: ['10.0.0.8'] }]);
    // IPv6 spelled differently is the same address; the socket still needs the interface's IPv4.
    expect(resolveLinks(['fd00:0::5'], table).links).toEqual([{ key: 'eth0/192.168.1.5', interfaceName: 'eth0', multicastAddress: '192.168.1.5', addresses: ['fd00::5'] }]);
  });

  it('several entries make one link per interface', () => {
    const { links } = resolveLinks(['eth0', 'wlan0', '10.0.0.7'], table);
    expect(links.map((l) => l.key)).toEqual(['eth0/192.168.1.5', 'wlan0/10.0.0.7']);
    expect(links[1]!.addresses).toEqual(['10.0.0.7', '10.0.0.8']);
  });

  it('reports missing interfaces and interfaces without IPv4 as problems, not errors', () => {
    expect(resolveLinks(['wlan9', 'tun0', 'eth0'], table)).toEqual({
      links: [expect.objectContaining({ key: 'eth0/192.168.1.5' })],
      problems: ['no interface is named wlan9 or has that address', 'interface tun0 has no IPv4 address, and mDNS runs over IPv4 multicast'],
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
