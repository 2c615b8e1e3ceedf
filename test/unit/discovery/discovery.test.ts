import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey } from '../../../src/identity/public-key.js';
import { MdnsLink } from '../../../src/discovery/mdns-link.js';
import type { DiscoveryOptions } from '../../../src/discovery/mdns.js';
import { addressRecords, serviceRecords } from '../../../src/discovery/records.js';
import { hostName, instanceName } from '../../../src/discovery/service-names.js';
import { FakeClock } from '../_support/fake-clock.js';
import { FakeLan } from '../_support/fake-lan.js';
import { discoveryNode, type DiscoveryEvent, type DiscoveryNode } from '../_support/discovery-node.js';
import { KeyDir } from '../_support/keys.js';

/**
 * Discovery end to end over an in-memory LAN: the real bonjour-service responder,
 * multicast-dns and dns-packet code runs over stand-in sockets, and time is a fake clock, so
 * TTL expiry (minutes) and retries are tested without waiting.
 */

let keyDir: KeyDir;
const keys: Record<string, PublicKey> = {};
beforeAll(() => {
  keyDir = new KeyDir('clipsync-disc-');
  for (const name of ['alpha', 'bravo', 'charlie']) {
    keys[name] = PublicKey.fromLine(keyDir.generate({ label: name, type: 'ed25519', sshType: 'ssh-ed25519' }, { name }).pubLine);
  }
});
afterAll(() => keyDir.remove());

type Node = DiscoveryNode;

let lan: FakeLan;
let clock: FakeClock;
let nodes: Node[] = [];
const settle = (): Promise<void> => lan.settle();
const advance = (ms: number): Promise<void> => clock.advance(ms, settle);

function node(name: string, addresses: string[], options: Partial<DiscoveryOptions> = {}): Node {
  const n = discoveryNode(lan, clock, keys[name]!, name, addresses, { ...options });
  nodes.push(n);
  return n;
}

async function start(...list: Node[]): Promise<void> {
  for (const n of list) await n.discovery.start();
  await settle();
}

const about = (n: Node, type: DiscoveryEvent['type'], name: string): DiscoveryEvent[] => n.events.filter((e) => e.type === type && e.peer.fingerprint === keys[name]!.fingerprint);
const offWarnings = (n: Node): Record<string, unknown>[] => n.logs.at('warn').filter((l) => String(l['msg']).startsWith('mDNS discovery is off'));

describe('Discovery', () => {
  afterEach(async () => {
    for (const n of nodes) await n.discovery.stop();
    nodes = [];
  });
  const fresh = (): void => {
    lan = new FakeLan();
    clock = new FakeClock();
  };

  it('two daemons find each other, each listing the other and never itself', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1', 'fd00::1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2'], { port: 4000 });
    await start(a, b);

    expect(a.events).toEqual([{ type: 'up', peer: expect.objectContaining({ name: 'bravo', addresses: ['192.168.1.2', 'fd00::2'], port: 4000 }) }]);
    expect(b.events).toEqual([{ type: 'up', peer: expect.objectContaining({ name: 'alpha', addresses: ['192.168.1.1', 'fd00::1'], port: 25470 }) }]);
    expect(a.discovery.peers().map((p) => p.name)).toEqual(['bravo']);
    expect(a.discovery.peers()[0]!.publicKey?.fingerprint).toBe(keys['bravo']!.fingerprint);
    expect(a.states).toEqual(['running']);
  });

  it('a daemon that starts later is found through its announcement', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    await start(a);
    await advance(30_000);
    const b = node('bravo', ['192.168.1.2']);
    await start(b);
    expect(about(a, 'up', 'bravo')).toHaveLength(1);
    expect(about(b, 'up', 'alpha')).toHaveLength(1);
  });

  it('stop() says goodbye: the others get `down` (goodbye) at once, and nothing is left running', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    const b = node('bravo', ['192.168.1.2']);
    await start(a, b);
    await b.discovery.stop();
    await settle();
    expect(about(a, 'down', 'bravo')).toEqual([expect.objectContaining({ reason: 'goodbye' })]);
    expect(b.host.openSockets).toBe(0);
    expect(b.discovery.state).toBe('stopped');
    expect(b.states).toEqual(['running', 'stopped']);
    await a.discovery.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a peer that vanishes without a goodbye expires after its TTL; a live one never does', async () => {
    fresh();
    // Browse rarely, so only the re-queries at 80–95 % of the TTL keep the live peer listed.
    const slow = { maxBrowseIntervalMs: 3_600_000 };
    const a = node('alpha', ['192.168.1.1'], slow);
    const b = node('bravo', ['192.168.1.2'], slow);
    const c = node('charlie', ['192.168.1.3'], slow);
    await start(a, b, c);
    await advance(10_000);
    b.host.connected = false; // crash or pulled cable: no goodbye
    const crashedAt = clock.now();

    await advance(80_000);
    expect(about(a, 'down', 'bravo')).toEqual([]);
    await advance(50_000);
    expect(about(a, 'down', 'bravo')).toEqual([expect.objectContaining({ reason: 'expired' })]);
    expect(clock.now() - crashedAt).toBeLessThanOrEqual(130_000);

    await advance(10 * 60_000);
    expect(about(a, 'down', 'charlie')).toEqual([]);
    expect(a.discovery.peers().map((p) => p.name)).toEqual(['charlie']);
  });

  it('a running daemon whose address changes is reported with `update`, the old address gone at once', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    const b = node('bravo', ['192.168.1.2', 'fd00::2'], { pollIntervalMs: 1000 });
    await start(a, b);
    b.host.addresses = ['192.168.1.42', 'fd00::2'];
    await advance(1000);
    const updates = about(a, 'update', 'bravo');
    expect(updates.at(-1)).toMatchObject({ peer: { addresses: ['192.168.1.42', 'fd00::2'] } });
    expect(about(a, 'down', 'bravo')).toEqual([]);
    expect(b.logs.at('info').some((l) => l['msg'] === 'advertised addresses changed')).toBe(true);
  });

  it('with no multicast route: disabled, one warning, no crash; retries and comes on when the route appears', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    const b = node('bravo', ['192.168.1.2'], { pollIntervalMs: 1000 });
    b.host.sendError = 'ENETUNREACH';
    await start(a, b);

    expect(b.discovery.state).toBe('disabled');
    expect(b.states).toEqual(['disabled']);
    expect(offWarnings(b)).toHaveLength(1);
    expect(offWarnings(b)[0]).toMatchObject({ codes: ['ENETUNREACH'], component: 'discovery' });
    expect(String(offWarnings(b)[0]!['msg'])).toContain('no multicast route (ENETUNREACH)');
    expect(b.host.openSockets).toBe(0);

    await advance(5000); // five retries
    expect(offWarnings(b)).toHaveLength(1);
    expect(b.host.openSockets).toBe(0);
    expect(about(a, 'up', 'bravo')).toEqual([]);

    b.host.sendError = undefined;
    await advance(1000);
    expect(b.discovery.state).toBe('running');
    expect(b.states).toEqual(['disabled', 'running']);
    expect(about(a, 'up', 'bravo')).toHaveLength(1);
    expect(about(b, 'up', 'alpha')).toHaveLength(1);
  });

  it('multicast lost while running (route removed) turns discovery off, and back on when it returns', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    const b = node('bravo', ['192.168.1.2'], { pollIntervalMs: 1000 });
    await start(a, b);
    b.host.sendError = 'ENETUNREACH';
    await advance(5000); // a browse query fails, the next poll notices
    expect(b.discovery.state).toBe('disabled');
    expect(b.states).toEqual(['running', 'disabled']);
    expect(offWarnings(b)).toEqual([expect.objectContaining({ codes: ['ENETUNREACH'] })]);
    // One warning says it all: failed announcements and goodbyes add none.
    expect(b.logs.at('warn').filter((l) => String(l['msg']).startsWith('cannot send'))).toEqual([]);
    expect(b.host.openSockets).toBe(0);

    b.host.sendError = undefined;
    await advance(1000);
    expect(b.states).toEqual(['running', 'disabled', 'running']);
  });

  it('a socket that cannot bind disables discovery the same way', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    a.host.bindError = 'EADDRINUSE';
    await start(a);
    expect(a.discovery.state).toBe('disabled');
    expect(offWarnings(a)[0]).toMatchObject({ codes: ['EADDRINUSE'] });
  });

  it('without a port it browses but does not advertise', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    const b = node('bravo', ['192.168.1.2'], { port: undefined });
    await start(a, b);
    await advance(10_000);
    expect(about(b, 'up', 'alpha')).toHaveLength(1);
    expect(a.events).toEqual([]);
  });

  it('with interfaces chosen: joins and sends on that interface, and waits for one that is not there yet', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    const b = node('bravo', ['192.168.1.2'], { interfaces: ['wlan0'], pollIntervalMs: 1000 });
    await start(a, b);
    expect(b.discovery.state).toBe('disabled');
    expect(b.logs.at('warn').map((l) => l['msg'])).toContain('mDNS interfaces: no interface is named wlan0 or has that address');

    b.host.interfaceName = 'wlan0';
    await advance(1000);
    expect(b.discovery.state).toBe('running');
    const socket = b.host.sockets.find((s) => s.bound && !s.closed)!;
    expect(socket.memberships).toContain('224.0.0.251@192.168.1.2');
    expect(socket.multicastInterface).toBe('192.168.1.2');
    expect(about(a, 'up', 'bravo')).toHaveLength(1);

    // The interface goes away again: the link is closed (no goodbye can be sent on it).
    b.host.interfaceName = 'eth1';
    b.host.addresses = [];
    await advance(1000);
    expect(b.discovery.state).toBe('disabled');
    expect(b.host.openSockets).toBe(0);
  });

  it('a forged record (key not matching its fingerprint) is logged at debug once and never listed', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    await start(a);
    // A hand-made responder on another host announces charlie's fingerprint with bravo's key.
    const forger = lan.host('forger', ['192.168.1.66']);
    const link = new MdnsLink({ key: 'all', family: 'IPv4', addresses: [] }, forger.socketFactory);
    const fp = keys['charlie']!.fingerprint;
    const txt = [Buffer.from('v=1'), Buffer.from(`fp=${fp}`), Buffer.from('name=charlie'), Buffer.from(`pk=${keys['bravo']!.blob.toString('base64')}`)];
    const ad = { instance: instanceName('charlie', fp), host: hostName(fp), port: 25470, txt };
    const records = [...serviceRecords(ad), ...addressRecords(ad.host, ['192.168.1.66'])];
    await link.announce(records);
    await link.announce(records);
    await settle();
    await link.close();

    const refused = a.logs.at('debug').filter((l) => l['msg'] === 'ignoring an invalid clipsync TXT record');
    expect(refused).toEqual([expect.objectContaining({ reason: 'the public key (pk) does not match the fingerprint (fp)', instance: ad.instance })]);
    expect(a.events).toEqual([]);
  });

  it('refresh() asks again at once; start() and stop() twice are harmless', async () => {
    fresh();
    const a = node('alpha', ['192.168.1.1']);
    await a.discovery.start();
    await a.discovery.start();
    await settle();
    const before = lan.sent.length;
    a.discovery.refresh();
    await settle();
    expect(lan.sent.length).toBeGreaterThan(before);
    await a.discovery.stop();
    await a.discovery.stop();
    expect(a.states).toEqual(['running', 'stopped']);
  });

  it('refuses a port that is not a TCP port', () => {
    fresh();
    expect(() => node('alpha', ['192.168.1.1'], { port: 70000 })).toThrow(expect.objectContaining({ code: 'CLIPSYNC_ERR_CONFIG' }));
    nodes = [];
  });
});
