import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey } from '../../../src/identity/public-key.js';
import { addressRecords, goodbyeRecords, serviceRecords, type DnsRecord } from '../../../src/discovery/records.js';
import { ServiceCache } from '../../../src/discovery/service-cache.js';
import { SERVICE_TYPE, hostName, instanceName } from '../../../src/discovery/service-names.js';
import { encodeTxtRecord } from '../../../src/discovery/txt-record.js';
import { KeyDir } from '../_support/keys.js';

let keyDir: KeyDir;
let alice: PublicKey;
let bob: PublicKey;
let me: PublicKey;
beforeAll(() => {
  keyDir = new KeyDir('clipsync-cache-');
  const gen = (name: string): PublicKey => PublicKey.fromLine(keyDir.generate({ label: name, type: 'ed25519', sshType: 'ssh-ed25519' }, { name }).pubLine);
  alice = gen('alice');
  bob = gen('bob');
  me = gen('me');
});
afterAll(() => keyDir.remove());

const T0 = 1_000_000;

/** What a clipsync daemon announces: PTR, SRV, TXT, enumeration PTR, A/AAAA. */
function announcement(key: PublicKey, options: { name?: string; port?: number; addresses?: string[] } = {}): DnsRecord[] {
  const name = options.name ?? 'box';
  const ad = {
    instance: instanceName(name, key.fingerprint),
    host: hostName(key.fingerprint),
    port: options.port ?? 25470,
    txt: encodeTxtRecord({ version: 1, name, publicKey: key }),
  };
  return [...serviceRecords(ad), ...addressRecords(ad.host, options.addresses ?? ['192.168.1.10', 'fd00::10'])];
}

function cache(): ServiceCache {
  return new ServiceCache({ ownFingerprint: me.fingerprint, random: () => 0 });
}

describe('ServiceCache', () => {
  it('lists a peer from one announcement, with its addresses sorted IPv4 first', () => {
    const c = cache();
    c.ingest(announcement(alice, { addresses: ['fd00::10', '192.168.1.10', '10.0.0.5'] }), T0);
    const peer = c.peers().get(alice.fingerprint)!;
    expect(peer).toMatchObject({ name: 'box', port: 25470, version: 1, addresses: ['10.0.0.5', '192.168.1.10', 'fd00::10'] });
    expect(peer.publicKey?.fingerprint).toBe(alice.fingerprint);
    expect(peer.instance).toBe(instanceName('box', alice.fingerprint));
  });

  it('never lists our own fingerprint', () => {
    const c = cache();
    c.ingest(announcement(me), T0);
    expect(c.peers().size).toBe(0);
  });

  it('needs TXT, SRV and an address before listing, and asks for what is missing', () => {
    const c = cache();
    const records = announcement(alice);
    c.ingest(records.filter((r) => r.type === 'PTR'), T0);
    expect(c.peers().size).toBe(0);
    expect(c.dueQueries(T0)).toEqual([
      { name: instanceName('box', alice.fingerprint), type: 'SRV' },
      { name: instanceName('box', alice.fingerprint), type: 'TXT' },
    ]);
    c.ingest(records.filter((r) => r.type === 'SRV' || r.type === 'TXT'), T0 + 10);
    // The SRV names the host; its addresses are asked for, after 1 s, then 2 s more, then no more.
    expect(c.dueQueries(T0 + 10)).toEqual([]);
    expect(c.dueQueries(T0 + 1000).map((q) => q.type)).toEqual(['SRV', 'TXT', 'A', 'AAAA']);
    expect(c.dueQueries(T0 + 2000)).toEqual([]);
    expect(c.dueQueries(T0 + 3000).map((q) => q.type)).toEqual(['SRV', 'TXT', 'A', 'AAAA']);
    expect(c.dueQueries(T0 + 60_000)).toEqual([]);
    c.ingest(records.filter((r) => r.type === 'A'), T0 + 4000);
    expect([...c.peers().keys()]).toEqual([alice.fingerprint]);
  });

  it('ignores address records for hosts no instance points at', () => {
    const c = cache();
    c.ingest(addressRecords('stranger.local', ['10.1.1.1']), T0);
    c.ingest(announcement(alice, { addresses: [] }), T0);
    expect(c.peers().size).toBe(0);
  });

  it('drops a peer at once on a PTR or SRV goodbye, and reports it as a goodbye', () => {
    for (const type of ['PTR', 'SRV']) {
      const c = cache();
      c.ingest(announcement(alice), T0);
      const result = c.ingest(goodbyeRecords(announcement(alice).filter((r) => r.type === type && r.name !== '_services._dns-sd._udp.local')), T0 + 5);
      expect(result.goodbye).toBe(true);
      expect(c.peers().size).toBe(0);
    }
  });

  /** Alice's goodbye for her service (not the shared enumeration PTR). */
  const aliceGoodbye = (): DnsRecord[] => goodbyeRecords(announcement(alice).filter((r) => r.name !== '_services._dns-sd._udp.local'));
  /** A cache that heard Alice on both families, then her goodbye on IPv4 only. */
  const goneOnIpv4 = (): ServiceCache => {
    const c = cache();
    c.ingest(announcement(alice), T0, 'IPv4');
    c.ingest(announcement(alice), T0 + 1, 'IPv6');
    c.ingest(aliceGoodbye(), T0 + 5, 'IPv4');
    return c;
  };

  it('does not take a dual-stack peer back from its last announcement on one family arriving after its goodbye on the other', () => {
    const c = goneOnIpv4();
    c.ingest(announcement(alice), T0 + 6, 'IPv6'); // sent before the goodbye, overtaken by it
    expect(c.peers().size).toBe(0);
    c.ingest(aliceGoodbye(), T0 + 7, 'IPv6');
    // Both families said goodbye: a restart is heard at once, on either family.
    c.ingest(announcement(alice), T0 + 8, 'IPv6');
    expect([...c.peers().keys()]).toEqual([alice.fingerprint]);
  });

  it('holds a family that never carries its goodbye for 1 s at most, and never holds the family that said it', () => {
    const c = goneOnIpv4();
    c.ingest(announcement(alice), T0 + 500, 'IPv6');
    expect(c.peers().size).toBe(0);
    c.ingest(announcement(alice), T0 + 1010, 'IPv6');
    expect([...c.peers().keys()]).toEqual([alice.fingerprint]);

    const d = goneOnIpv4();
    d.ingest(announcement(alice), T0 + 6, 'IPv4');
    expect([...d.peers().keys()]).toEqual([alice.fingerprint]);
  });

  it('drops one address on its goodbye and keeps the peer', () => {
    const c = cache();
    c.ingest(announcement(alice, { addresses: ['10.0.0.1', '10.0.0.2'] }), T0);
    const result = c.ingest(goodbyeRecords(addressRecords(hostName(alice.fingerprint), ['10.0.0.1'])), T0 + 5);
    expect(result.goodbye).toBe(true);
    expect(c.peers().get(alice.fingerprint)!.addresses).toEqual(['10.0.0.2']);
  });

  it('re-asks at 80, 85, 90 and 95 % of the SRV lifetime, then expires it at 100 %', () => {
    const c = cache();
    c.ingest(announcement(alice), T0);
    const ttl = 120_000;
    expect(c.nextDeadline()).toBe(T0 + 0.8 * ttl);
    expect(c.dueQueries(T0 + 0.8 * ttl - 1)).toEqual([]);
    const asked: number[] = [];
    for (let t = T0; t < T0 + ttl; t += 500) if (c.dueQueries(t).length > 0) asked.push(t - T0);
    expect(asked).toEqual([0.8, 0.85, 0.9, 0.95].map((f) => Math.ceil((f * ttl) / 500) * 500));
    c.expire(T0 + ttl - 1);
    expect(c.peers().size).toBe(1);
    c.expire(T0 + ttl);
    expect(c.peers().size).toBe(0);
  });

  it('an answer to a re-query starts the lifetime over', () => {
    const c = cache();
    c.ingest(announcement(alice), T0);
    expect(c.dueQueries(T0 + 96_000).length).toBeGreaterThan(0);
    c.ingest(announcement(alice), T0 + 96_500);
    c.expire(T0 + 130_000);
    expect(c.peers().size).toBe(1);
    expect(c.nextDeadline()).toBe(T0 + 96_500 + 96_000);
  });

  it('spreads re-queries by up to 2 % of the lifetime at random', () => {
    const c = new ServiceCache({ random: () => 0.5 });
    c.ingest(announcement(alice), T0);
    expect(c.nextDeadline()).toBe(T0 + 0.81 * 120_000);
  });

  it('follows a port change at once (SRV is unique: the new one replaces the old)', () => {
    const c = cache();
    c.ingest(announcement(alice, { port: 1000 }), T0);
    c.ingest(announcement(alice, { port: 2000 }).filter((r) => r.type === 'SRV'), T0 + 10);
    expect(c.peers().get(alice.fingerprint)!.port).toBe(2000);
  });

  it('honours the cache-flush bit on address records, sparing those from the last second', () => {
    const c = cache();
    c.ingest(announcement(alice, { addresses: ['10.0.0.1'] }), T0);
    const flushed = (address: string): DnsRecord[] => addressRecords(hostName(alice.fingerprint), [address]).map((r) => ({ ...r, flush: true }));
    c.ingest(flushed('10.0.0.2'), T0 + 500);
    expect(c.peers().get(alice.fingerprint)!.addresses).toEqual(['10.0.0.1', '10.0.0.2']);
    c.ingest(flushed('10.0.0.3'), T0 + 5000);
    expect(c.peers().get(alice.fingerprint)!.addresses).toEqual(['10.0.0.3']);
  });

  it('without the flush bit, addresses accumulate until their own TTL ends', () => {
    const c = cache();
    c.ingest(announcement(alice, { addresses: ['10.0.0.1'] }), T0);
    c.ingest(announcement(alice, { addresses: ['10.0.0.2'] }), T0 + 60_000);
    expect(c.peers().get(alice.fingerprint)!.addresses).toEqual(['10.0.0.1', '10.0.0.2']);
    c.expire(T0 + 120_000);
    expect(c.peers().get(alice.fingerprint)!.addresses).toEqual(['10.0.0.2']);
  });

  it('never lists loopback, unspecified, multicast or link-local addresses', () => {
    const c = cache();
    c.ingest(announcement(alice, { addresses: ['127.0.0.1', '0.0.0.0', '224.0.0.251', '::1', '::', 'fe80::1', 'ff02::fb', '::ffff:10.0.0.1'] }), T0);
    expect(c.peers().size).toBe(0);
    c.ingest(announcement(alice, { addresses: ['169.254.3.4', 'fd00:0:0::7'] }), T0);
    expect(c.peers().get(alice.fingerprint)!.addresses).toEqual(['169.254.3.4', 'fd00::7']);
  });

  it('lists the instance heard from last when two claim one key', () => {
    const c = cache();
    c.ingest(announcement(alice, { name: 'old', port: 1 }), T0);
    c.ingest(announcement(alice, { name: 'new', port: 2 }), T0 + 10);
    expect(c.peers().get(alice.fingerprint)).toMatchObject({ name: 'new', port: 2 });
    // (Both use the key's host name, so only the service records say goodbye here.)
    c.ingest(goodbyeRecords(announcement(alice, { name: 'new', port: 2 }).filter((r) => r.type !== 'A' && r.type !== 'AAAA')), T0 + 20);
    expect(c.peers().get(alice.fingerprint)).toMatchObject({ name: 'old', port: 1 });
  });

  it('reports a refused TXT record once per reason, and lists nothing for it', () => {
    const c = cache();
    const bad = announcement(alice).map((r) => (r.type === 'TXT' ? { ...r, data: [Buffer.from('v=1'), Buffer.from(`fp=${alice.fingerprint}`), Buffer.from('name=x'), Buffer.from(`pk=${bob.blob.toString('base64')}`)] } : r));
    expect(c.ingest(bad, T0).rejected).toEqual([{ instance: instanceName('box', alice.fingerprint), reason: 'the public key (pk) does not match the fingerprint (fp)' }]);
    expect(c.ingest(bad, T0 + 1).rejected).toEqual([]);
    expect(c.peers().size).toBe(0);
  });

  it('caps TTLs, so a record claiming a week still ends within 75 minutes', () => {
    const c = cache();
    c.ingest(announcement(alice).map((r) => ({ ...r, ttl: 7 * 24 * 3600 })), T0);
    c.expire(T0 + 4500_000);
    expect(c.peers().size).toBe(0);
  });

  it('keeps at most maxInstances, evicting junk before listable peers', () => {
    const c = new ServiceCache({ maxInstances: 3, random: () => 0 });
    c.ingest(announcement(alice), T0);
    for (let i = 0; i < 10; i++) c.ingest([{ name: SERVICE_TYPE, type: 'PTR', ttl: 4500, data: `junk${i}.${SERVICE_TYPE}` }], T0 + i);
    expect(c.size).toBe(3);
    c.ingest(announcement(bob), T0 + 100);
    expect([...c.peers().keys()].sort()).toEqual([alice.fingerprint, bob.fingerprint].sort());
  });

  it('ignores other service types and malformed records without throwing', () => {
    const c = cache();
    const junk: unknown[] = [
      { name: '_http._tcp.local', type: 'PTR', ttl: 120, data: 'web._http._tcp.local' },
      { name: SERVICE_TYPE, type: 'PTR', ttl: 120, data: 42 },
      { name: SERVICE_TYPE, type: 'PTR', ttl: -1, data: `x.${SERVICE_TYPE}` },
      { name: `x.${SERVICE_TYPE}`, type: 'SRV', ttl: 120, data: null },
      { name: `x.${SERVICE_TYPE}`, type: 'SRV', ttl: 120, data: { port: 0, target: 'h.local' } },
      { name: `x.${SERVICE_TYPE}`, type: 'SRV', ttl: NaN, data: { port: 1, target: 'h.local' } },
      { name: `y.${SERVICE_TYPE}`, type: 'SRV', ttl: 120, data: { port: 1, target: 'h.local' } },
      { name: `y.${SERVICE_TYPE}`, type: 'TXT', ttl: 120, data: 'not buffers' },
      { name: 'h.local', type: 'A', ttl: 120, data: 'fd00::1' },
      { name: 'h.local', type: 'AAAA', ttl: 120, data: { nope: true } },
      { name: 7, type: 'A', ttl: 120, data: '10.0.0.1' },
    ];
    expect(() => c.ingest(junk as DnsRecord[], T0)).not.toThrow();
    expect(c.peers().size).toBe(0);
  });

  it('survives any sequence of random records (property)', () => {
    const names = [SERVICE_TYPE, `a.${SERVICE_TYPE}`, `B.${SERVICE_TYPE.toUpperCase()}`, 'h.local', hostName(alice.fingerprint), instanceName('box', alice.fingerprint)];
    const record = fc.record({
      name: fc.constantFrom(...names),
      type: fc.constantFrom('PTR', 'SRV', 'TXT', 'A', 'AAAA', 'NSEC'),
      ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10_000_000 })),
      flush: fc.boolean(),
      data: fc.oneof(
        fc.constantFrom(...names),
        fc.record({ port: fc.integer({ min: -1, max: 70000 }), target: fc.constantFrom(...names) }),
        fc.array(fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)), { maxLength: 5 }),
        fc.constantFrom('10.0.0.1', 'fd00::1', 'junk', null),
      ),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(record, { maxLength: 8 }), fc.integer({ min: 0, max: 200_000 })), { maxLength: 20 }), (steps) => {
        const c = cache();
        let now = T0;
        c.ingest(announcement(alice), now);
        for (const [records, dt] of steps) {
          now += dt;
          c.ingest(records as DnsRecord[], now);
          c.expire(now);
          c.dueQueries(now);
          const next = c.nextDeadline();
          if (next !== undefined) expect(next).toBeGreaterThanOrEqual(0);
          for (const peer of c.peers().values()) expect(peer.addresses.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
