import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey } from '../../../src/identity/public-key.js';
import type { DiscoveryOptions } from '../../../src/discovery/mdns.js';
import { FakeClock } from '../_support/fake-clock.js';
import { FakeLan } from '../_support/fake-lan.js';
import { discoveryNode, type DiscoveryEvent, type DiscoveryNode } from '../_support/discovery-node.js';
import { KeyDir } from '../_support/keys.js';

/**
 * mDNS over IPv4 and IPv6 side by side, on the in-memory LAN (where the two families are
 * separate wires): IPv6-only hosts find each other, dual-stack hosts see each other once with
 * the records of both families merged, and one family failing never turns discovery off.
 */

let keyDir: KeyDir;
const keys: Record<string, PublicKey> = {};
beforeAll(() => {
  keyDir = new KeyDir('clipsync-disc6-');
  for (const name of ['alpha', 'bravo', 'charlie']) keys[name] = PublicKey.fromLine(keyDir.generate({ label: name, type: 'ed25519', sshType: 'ssh-ed25519' }, { name }).pubLine);
});
afterAll(() => keyDir.remove());

type Node = DiscoveryNode;

let lan: FakeLan;
let clock: FakeClock;
let nodes: Node[] = [];
const settle = (): Promise<void> => lan.settle();
const advance = (ms: number): Promise<void> => clock.advance(ms, settle);

function node(name: string, addresses: string[], options: Partial<DiscoveryOptions> = {}): Node {
  const n = discoveryNode(lan, clock, keys[name]!, name, addresses, { pollIntervalMs: 1000, ...options });
  nodes.push(n);
  return n;
}

async function start(...list: Node[]): Promise<void> {
  for (const n of list) await n.discovery.start();
  await settle();
}

const types = (n: Node): string[] => n.events.map((e) => e.type);
const messages = (n: Node, level: 'info' | 'warn'): string[] => n.logs.at(level).map((l) => String(l['msg']));
const sentBy = (name: string, family: 'IPv4' | 'IPv6'): number => lan.sent.filter((p) => p.from === name && p.family === family).length;

describe('Discovery over IPv4 and IPv6', () => {
  afterEach(async () => {
    for (const n of nodes) await n.discovery.stop();
    nodes = [];
  });
  const fresh = (): void => {
    lan = new FakeLan();
    clock = new FakeClock();
  };

  it('IPv6-only hosts find each other over ff02::fb and report the global address, never the link-local one', async () => {
    fresh();
    const a = node('alpha', ['fd00::1', 'fe80::a1']);
    const b = node('bravo', ['fd00::2', 'fe80::b2']);
    // No IPv4 at all: the IPv4 link's first send fails, as with no route for 224.0.0.0/4.
    a.host.familySendError.IPv4 = 'ENETUNREACH';
    b.host.familySendError.IPv4 = 'ENETUNREACH';
    await start(a, b);

    expect(a.discovery.state).toBe('running');
    expect(a.events).toEqual([{ type: 'up', peer: expect.objectContaining({ name: 'bravo', addresses: ['fd00::2'] }) }]);
    expect(b.events).toEqual([{ type: 'up', peer: expect.objectContaining({ name: 'alpha', addresses: ['fd00::1'] }) }]);
    const [socket] = a.host.open('IPv6');
    expect(socket?.memberships).toEqual(['ff02::fb@::%eth0']);
    expect(socket?.multicastInterface).toBe('::%eth0');
    expect(a.host.open('IPv4')).toEqual([]);
    // The IPv4 link is reported once, as a link of its own, not as "discovery is off".
    expect(messages(a, 'warn')).toEqual(['mDNS is off on IPv4 default route: no multicast route (ENETUNREACH)']);
  });

  it('dual-stack hosts see each other once, with the addresses of both families, however often they hear each other', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1', 'fe80::a1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2', 'fe80::b2']);
    await start(a, b);
    await advance(10 * 60_000); // announcements, browses and TTL refreshes over both families

    expect(a.events).toEqual([{ type: 'up', peer: expect.objectContaining({ name: 'bravo', addresses: ['192.168.1.2', 'fd00::2'] }) }]);
    expect(types(b)).toEqual(['up']);
    expect(a.discovery.peers()).toHaveLength(1);
    expect(sentBy('bravo', 'IPv4')).toBeGreaterThan(0);
    expect(sentBy('bravo', 'IPv6')).toBeGreaterThan(0);
  });

  it('stop() on a dual-stack host says goodbye on both families: the other sees one `down`', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2']);
    await start(a, b);
    await b.discovery.stop();
    await settle();
    expect(a.events.filter((e) => e.type === 'down')).toEqual([expect.objectContaining({ reason: 'goodbye' })]);
    expect(b.host.openSockets).toBe(0);
  });

  it('no IPv6 multicast route: IPv4 carries on (an info line, no warning), and IPv6 comes back with the route', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2']);
    b.host.familySendError.IPv6 = 'ENETUNREACH';
    await start(a, b);
    expect(b.discovery.state).toBe('running');
    expect(types(a)).toEqual(['up']);
    expect(messages(b, 'info')).toContain('mDNS is off on eth0/ipv6: no multicast route (ENETUNREACH)');
    expect(messages(b, 'warn')).toEqual([]);

    delete b.host.familySendError.IPv6;
    await advance(1000);
    expect(b.host.open('IPv6')).toHaveLength(1);
    expect(messages(b, 'info')).toContain('mDNS works on this link again');
    expect(types(a)).toEqual(['up']);
  });

  it('one family lost while running leaves the other running and the peer listed; both lost: disabled, one warning naming both', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2']);
    await start(a, b);
    b.host.familySendError.IPv4 = 'ENETUNREACH';
    b.discovery.refresh(); // a failed send, noticed at the next poll
    await advance(1000);
    expect(b.discovery.state).toBe('running');
    expect(b.host.open('IPv4')).toEqual([]);

    b.host.familySendError.IPv6 = 'ENETUNREACH';
    b.discovery.refresh();
    await advance(1000);
    expect(b.states).toEqual(['running', 'disabled']);
    const off = b.logs.at('warn').filter((l) => String(l['msg']).startsWith('mDNS discovery is off'));
    expect(off).toEqual([expect.objectContaining({ codes: ['ENETUNREACH'] })]);
    expect(String(off[0]!['reason'])).toBe('cannot send multicast: IPv4 default route: no multicast route (ENETUNREACH); eth0/ipv6: no multicast route (ENETUNREACH)');
    expect(String(off[0]!['hint'])).toMatch(/224\.0\.0\.0\/4.*ff00::\/8/);
    // Nothing could say goodbye, and a has not waited out the TTL: still listed.
    expect(types(a)).toEqual(['up']);
  });

  it('an interface that loses IPv6 closes its IPv6 link without a goodbye for the service: the peer sees `update`, never `down`', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2']);
    await start(a, b);
    b.host.addresses = ['192.168.1.2'];
    await advance(1000);
    expect(b.host.open('IPv6')).toEqual([]);
    expect(a.events.map((e) => [e.type, e.peer.addresses])).toEqual([
      ['up', ['192.168.1.2', 'fd00::2']],
      ['update', ['192.168.1.2']],
    ]);
    await advance(5 * 60_000);
    expect(types(a)).toEqual(['up', 'update']);
  });

  it('with eth0 chosen, a new IPv4 address reopens the IPv4 link: a dual-stack peer never sees it go down, an IPv4-only one gets the goodbye', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2'], { interfaces: ['eth0'] });
    const c = node('charlie', ['192.168.1.3']);
    await start(a, b, c);
    b.host.addresses = ['192.168.1.42', 'fd00::2'];
    await advance(1000);
    expect(b.host.open('IPv4').map((s) => s.multicastInterface)).toEqual(['192.168.1.42']);
    expect(types(a).filter((t) => t === 'down')).toEqual([]);
    // The old address is gone at once on both families, not after its 120 s TTL.
    for (const viewer of [a, c]) expect(viewer.discovery.peers().find((p) => p.name === 'bravo')?.addresses).toEqual(['192.168.1.42', 'fd00::2']);
    await advance(5 * 60_000);
    expect(a.discovery.peers().find((p) => p.name === 'bravo')?.addresses).toEqual(['192.168.1.42', 'fd00::2']);
  });
});
