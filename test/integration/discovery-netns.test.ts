import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { about, makeKey, peerOf, startAgent, stopAgent, type TestKey } from '../helpers/discovery-agent.js';
import type { JsonLineProcess } from '../helpers/json-lines.js';
import { skipUnlessNetns, useTestbed } from '../helpers/netns.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * Discovery by mDNS alone between hosts of a testbed (network namespaces on one bridge):
 * every host runs the discovery agent (dist/discovery via test/helpers/discovery-agent.mjs)
 * and the tests wait for the events it prints.
 */
const skip = skipUnlessNetns();

let dir: string;
const keys: Record<string, TestKey> = {};
beforeAll(() => {
  if (skip) return;
  dir = makeTempDir('cs-disc-');
  for (const name of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf']) keys[name] = makeKey(dir, name);
});
afterAll(() => {
  if (dir !== undefined) removeDir(dir);
});

describe.skipIf(skip)('two hosts', () => {
  const bed = useTestbed(2);
  const agents: JsonLineProcess[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a)));
  });

  it('see each other with fingerprint, name, IPv4 and IPv6 addresses and port', async () => {
    const a = await startAgent(bed(), 'h1', { name: 'alpha', publicKey: keys['alpha']!.line, port: 25470 });
    const b = await startAgent(bed(), 'h2', { name: 'bravo', publicKey: keys['bravo']!.line, port: 25471 });
    agents.push(a, b);

    const seenByA = peerOf(await a.waitForEvent(about('up', keys['bravo']!.fingerprint), 'alpha to see bravo'));
    const seenByB = peerOf(await b.waitForEvent(about('up', keys['alpha']!.fingerprint), 'bravo to see alpha'));

    expect(seenByA).toMatchObject({ name: 'bravo', version: 1, addresses: ['10.77.0.2', 'fd77::2'], port: 25471, publicKey: keys['bravo']!.line.split(' ').slice(0, 2).join(' ') });
    expect(seenByA.txt).toEqual({ v: '1', fp: keys['bravo']!.fingerprint, name: 'bravo', pk: keys['bravo']!.blob });
    expect(seenByB).toMatchObject({ name: 'alpha', addresses: ['10.77.0.1', 'fd77::1'], port: 25470 });
    // Neither lists itself (its own announcements come back to it through multicast loopback).
    expect(a.events.some(about('up', keys['alpha']!.fingerprint))).toBe(false);
    expect(b.events.some(about('up', keys['bravo']!.fingerprint))).toBe(false);
  });
});

describe.skipIf(skip)('three hosts: leaving, returning with a new address, moving', () => {
  const bed = useTestbed(3);
  const agents = new Map<string, JsonLineProcess>();
  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => stopAgent(a)));
  });

  it('each sees the other two; interfaces chosen by name and by address work', async () => {
    // h1 picks its interface by address (so advertises only that address), h3 by name.
    agents.set('h1', await startAgent(bed(), 'h1', { name: 'alpha', publicKey: keys['alpha']!.line, port: 25470, interfaces: ['10.77.0.1'] }));
    agents.set('h2', await startAgent(bed(), 'h2', { name: 'bravo', publicKey: keys['bravo']!.line, port: 25470, pollIntervalMs: 250 }));
    agents.set('h3', await startAgent(bed(), 'h3', { name: 'charlie', publicKey: keys['charlie']!.line, port: 25472, interfaces: ['eth0'] }));
    const expected = {
      alpha: { addresses: ['10.77.0.1'], port: 25470 },
      bravo: { addresses: ['10.77.0.2', 'fd77::2'], port: 25470 },
      charlie: { addresses: ['10.77.0.3', 'fd77::3'], port: 25472 },
    };
    const hostOf = { alpha: 'h1', bravo: 'h2', charlie: 'h3' } as const;
    for (const [viewer, viewerHost] of Object.entries(hostOf)) {
      for (const [name, want] of Object.entries(expected)) {
        if (name === viewer) continue;
        const event = await agents.get(viewerHost)!.waitForEvent(about('up', keys[name]!.fingerprint), `${viewer} to see ${name}`);
        expect(peerOf(event)).toMatchObject({ name, ...want });
      }
    }
  });

  it('a host that stops says goodbye: the others get `down` at once', async () => {
    const since = { h1: agents.get('h1')!.mark(), h3: agents.get('h3')!.mark() };
    await stopAgent(agents.get('h2')!);
    for (const viewer of ['h1', 'h3'] as const) {
      const event = await agents.get(viewer)!.waitForEvent(about('down', keys['bravo']!.fingerprint), `${viewer} to see bravo leave`, { since: since[viewer] });
      expect(event['reason']).toBe('goodbye');
    }
  });

  it('a host that returns with a new address comes `up` with it', async () => {
    // New address first: deleting a host's last IPv4 address would take its multicast route.
    await bed().execOk('h2', ['ip', 'addr', 'add', '10.77.0.42/24', 'dev', 'eth0']);
    await bed().execOk('h2', ['ip', 'addr', 'add', 'fd77::42/64', 'dev', 'eth0', 'nodad']);
    await bed().execOk('h2', ['ip', 'addr', 'del', '10.77.0.2/24', 'dev', 'eth0']);
    await bed().execOk('h2', ['ip', 'addr', 'del', 'fd77::2/64', 'dev', 'eth0']);
    const since = { h1: agents.get('h1')!.mark(), h3: agents.get('h3')!.mark() };
    agents.set('h2', await startAgent(bed(), 'h2', { name: 'bravo', publicKey: keys['bravo']!.line, port: 25471, pollIntervalMs: 250 }));
    for (const viewer of ['h1', 'h3'] as const) {
      const event = await agents.get(viewer)!.waitForEvent(about('up', keys['bravo']!.fingerprint), `${viewer} to see bravo back`, { since: since[viewer] });
      expect(peerOf(event)).toMatchObject({ addresses: ['10.77.0.42', 'fd77::42'], port: 25471 });
    }
  });

  it('a running host whose address changes is reported with `update`', async () => {
    const since = { h1: agents.get('h1')!.mark(), h3: agents.get('h3')!.mark() };
    await bed().execOk('h2', ['ip', 'addr', 'add', '10.77.0.43/24', 'dev', 'eth0']);
    await bed().execOk('h2', ['ip', 'addr', 'del', '10.77.0.42/24', 'dev', 'eth0']);
    for (const viewer of ['h1', 'h3'] as const) {
      // The old address goes by a goodbye, so the final state arrives without waiting for a TTL.
      const event = await agents.get(viewer)!.waitForEvent(
        about('update', keys['bravo']!.fingerprint, (peer) => peer.addresses.join() === '10.77.0.43,fd77::42'),
        `${viewer} to see bravo move to 10.77.0.43`,
        { since: since[viewer] },
      );
      expect(peerOf(event).port).toBe(25471);
    }
    // It never went down on the way.
    expect(agents.get('h1')!.events.slice(since.h1).some(about('down', keys['bravo']!.fingerprint))).toBe(false);
  });
});

/** The IPv6 multicast route the kernel adds to the local table when an interface comes up. */
const IPV6_MULTICAST_ROUTE = (op: 'add' | 'del'): string[] => ['ip', '-6', 'route', op, 'multicast', 'ff00::/8', 'dev', 'eth0', 'table', 'local'];

describe.skipIf(skip)('a host with no multicast route', () => {
  const bed = useTestbed(2);
  const agents: JsonLineProcess[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a)));
  });

  it('turns discovery off with a warning instead of crashing, and comes back with the route', async () => {
    // No multicast route of either family: IPv6 alone would keep discovery on.
    await bed().execOk('h2', ['ip', 'route', 'del', '224.0.0.0/4', 'dev', 'eth0']);
    await bed().execOk('h2', [...IPV6_MULTICAST_ROUTE('del')]);
    const seer = await startAgent(bed(), 'h1', { name: 'delta', publicKey: keys['delta']!.line, port: 25470 });
    agents.push(seer);
    const lonely = await startAgent(bed(), 'h2', { name: 'echo', publicKey: keys['echo']!.line, port: 25470, pollIntervalMs: 300 });
    agents.push(lonely);

    expect(lonely.events.find((e) => e['event'] === 'started')).toMatchObject({ state: 'disabled' });
    const warning = await lonely.waitForLog((l) => l['level'] === 40 && String(l['msg']).startsWith('mDNS discovery is off'), 'the warning');
    expect(warning['codes']).toEqual(['ENETUNREACH']);
    expect(String(warning['msg'])).toContain('no multicast route');
    expect(String(warning['reason'])).toContain('eth0/ipv6: no multicast route (ENETUNREACH)');
    expect(String(warning['hint'])).toContain('224.0.0.0/4');
    expect(String(warning['hint'])).toContain('ff00::/8');
    expect(lonely.alive).toBe(true);

    // The retry at the next poll finds the IPv4 route: discovery turns itself on and is seen.
    const since = seer.mark();
    await bed().execOk('h2', ['ip', 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    await lonely.waitForEvent((e) => e['event'] === 'state' && e['state'] === 'running', 'discovery to come on');
    await seer.waitForEvent(about('up', keys['echo']!.fingerprint), 'delta to see echo', { since });
    // Warned once, not at every retry.
    expect(lonely.logs.filter((l) => String(l['msg']).startsWith('mDNS discovery is off'))).toHaveLength(1);

    // Losing the route while running is noticed too (the next failed send, then a poll).
    const sinceOn = lonely.mark();
    await bed().execOk('h2', ['ip', 'route', 'del', '224.0.0.0/4', 'dev', 'eth0']);
    await lonely.waitForEvent((e) => e['event'] === 'state' && e['state'] === 'disabled', 'discovery to go off again', { since: sinceOn });
    expect(lonely.alive).toBe(true);
  });
});

describe.skipIf(skip)('IPv6', () => {
  const bed = useTestbed(2);
  const agents: JsonLineProcess[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a)));
  });

  it('dual-stack hosts see each other once, with both addresses, though they hear each other over both families', async () => {
    const a = await startAgent(bed(), 'h1', { name: 'foxtrot', publicKey: keys['foxtrot']!.line, port: 25470 });
    const b = await startAgent(bed(), 'h2', { name: 'golf', publicKey: keys['golf']!.line, port: 25471 });
    agents.push(a, b);
    expect(await a.waitForLog((l) => l['msg'] === 'mDNS discovery is on', 'discovery to come on')).toMatchObject({ links: ['all', 'eth0/ipv6'] });
    const up = await a.waitForEvent(about('up', keys['golf']!.fingerprint), 'foxtrot to see golf');
    expect(peerOf(up).addresses).toEqual(['10.77.0.2', 'fd77::2']);

    // Let golf finish its three announcements on both links, then leave: by the time foxtrot
    // reports the goodbye it has taken in everything golf sent, over IPv4 and IPv6.
    for (const link of ['all', 'eth0/ipv6']) {
      const announced = (l: Record<string, unknown>): boolean => l['msg'] === 'announced' && l['link'] === link;
      await b.waitForLog(() => b.logs.filter(announced).length >= 3, `golf to announce three times on ${link}`);
    }
    await stopAgent(b);
    await a.waitForEvent(about('down', keys['golf']!.fingerprint), 'foxtrot to see golf leave');
    const seen = a.events.filter((e) => e['peer'] !== undefined && peerOf(e).fingerprint === keys['golf']!.fingerprint);
    expect(seen.map((e) => e['event'])).toEqual(['up', 'down']);
    await Promise.all(agents.splice(0).map((agent) => stopAgent(agent)));
  });

  it('with no IPv4 multicast route a host is not disabled: IPv6 carries discovery both ways', async () => {
    await bed().execOk('h2', ['ip', 'route', 'del', '224.0.0.0/4', 'dev', 'eth0']);
    const a = await startAgent(bed(), 'h1', { name: 'foxtrot', publicKey: keys['foxtrot']!.line, port: 25470 });
    const b = await startAgent(bed(), 'h2', { name: 'golf', publicKey: keys['golf']!.line, port: 25471 });
    agents.push(a, b);
    expect(b.events.find((e) => e['event'] === 'started')).toMatchObject({ state: 'running' });
    const warning = await b.waitForLog((l) => l['level'] === 40 && String(l['msg']).startsWith('mDNS is off on IPv4 default route'), 'the IPv4 warning');
    expect(warning).toMatchObject({ link: 'all', family: 'IPv4', code: 'ENETUNREACH' });
    for (const [viewer, name, addresses] of [
      [a, 'golf', ['10.77.0.2', 'fd77::2']],
      [b, 'foxtrot', ['10.77.0.1', 'fd77::1']],
    ] as const) {
      const event = await viewer.waitForEvent(about('up', keys[name]!.fingerprint), `${name} to be seen`);
      expect(peerOf(event).addresses).toEqual(addresses);
    }
    expect(b.logs.some((l) => String(l['msg']).startsWith('mDNS discovery is off'))).toBe(false);
    expect(b.events.some((e) => e['event'] === 'state' && e['state'] === 'disabled')).toBe(false);
    await Promise.all(agents.splice(0).map((agent) => stopAgent(agent)));
  });

  it('hosts without IPv4 (addresses and multicast route gone) find each other over IPv6 alone', async () => {
    for (const host of bed().hosts) await bed().execOk(host.name, ['ip', 'addr', 'del', `${host.ipv4}/24`, 'dev', 'eth0']);
    // Deleting the last IPv4 address took the 224.0.0.0/4 route with it.
    expect(await bed().execOk('h1', ['ip', '-4', 'route', 'show', 'table', 'all'])).not.toContain('224.0.0.0/4');
    const a = await startAgent(bed(), 'h1', { name: 'foxtrot', publicKey: keys['foxtrot']!.line, port: 25470 });
    const b = await startAgent(bed(), 'h2', { name: 'golf', publicKey: keys['golf']!.line, port: 25471 });
    agents.push(a, b);
    // Only the fd77:: addresses: IPv4 is gone, and link-local fe80:: is never reported.
    expect(peerOf(await a.waitForEvent(about('up', keys['golf']!.fingerprint), 'foxtrot to see golf'))).toMatchObject({ addresses: ['fd77::2'], port: 25471 });
    expect(peerOf(await b.waitForEvent(about('up', keys['foxtrot']!.fingerprint), 'golf to see foxtrot'))).toMatchObject({ addresses: ['fd77::1'], port: 25470 });
    expect([a, b].map((agent) => agent.events.find((e) => e['event'] === 'started')?.['state'])).toEqual(['running', 'running']);
  });
});
