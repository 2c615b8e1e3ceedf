import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestDaemon, homePair, trust } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

describe('trust', () => {
  let dir: string;
  let homeA: string;
  let homeB: string;
  let fpA: string;
  let fpB: string;
  const daemons: TestDaemon[] = [];

  beforeEach(async () => {
    dir = makeTempDir();
    ({ homeA, homeB, fpA, fpB } = await homePair(dir));
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    removeDir(dir);
  });

  it('refuses a peer that does not trust us, on both sides, and moves no data', async () => {
    await trust(homeB, homeA); // beta trusts alpha; alpha does not trust beta
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    await a.cliOk(['copy'], { input: 'secret on alpha' });
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    daemons.push(b);

    // alpha logs the refusal naming beta's fingerprint; beta records the refusal.
    const refusal = await a.waitForLog((l) => l.msg === 'closing connection' && l['code'] === 4001, 'refusal on alpha');
    expect(String(refusal['reason'])).toContain(fpB);
    // Each side says whose key was not trusted by whom, and names the peer as its trust store does.
    const peerOfB = await waitFor(async () => (await b.peers()).find((p) => p.state === 'refused'), { what: 'refused state on beta' });
    expect(peerOfB.lastError).toContain(`refused this machine's key ${fpB}`);
    expect(peerOfB.name).toBe('alpha');
    const peerOfA = await waitFor(async () => (await a.peers()).find((p) => p.fingerprint === fpB), { what: 'refused key listed on alpha' });
    expect(peerOfA.state).toBe('refused');
    expect(peerOfA.lastError).toBe(`this machine does not trust beta's key ${fpB}`);

    expect((await b.cli(['paste'])).code).toBe(4);
    expect((await a.status()).peers.connected).toBe(0);
  });

  it('redials at once when this side starts trusting a peer it refused, not after the 30 s wait', async () => {
    await trust(homeA, homeB); // alpha trusts beta; beta does not trust alpha yet
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    daemons.push(b);
    const refused = await waitFor(async () => (await b.peers()).find((p) => p.state === 'refused'), { what: 'beta refusing alpha' });
    expect(refused.lastError).toBe(`this machine does not trust alpha's key ${fpA}`);
    expect(refused.nextRetryMs).toBeGreaterThan(0);

    await trust(homeB, homeA);
    await b.waitForLog((l) => l.msg === 'trust changed; redialing peers that were refused or waiting', 'beta redialing on the trust change');
    await b.waitForLog((l) => l.msg === 'peer connected', 'beta connected to alpha');
    const row = (await b.peers()).find((p) => p.fingerprint === fpA);
    expect(row?.state).toBe('connected');
  });

  it('refuses a peer neither side trusts', async () => {
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    daemons.push(b);
    await a.waitForLog((l) => l['code'] === 4001 && String(l['reason']).includes(fpB), 'alpha refusing beta');
    // beta either refused alpha itself or saw alpha's refusal first; either way it is refused.
    const seenByB = await waitFor(async () => (await b.peers()).find((p) => p.state === 'refused'), { what: 'refused state on beta' });
    expect(seenByB.lastError).toMatch(/does not trust alpha's key|alpha refused this machine's key/);
    expect((await a.status()).peers.connected).toBe(0);
    expect((await b.status()).peers.connected).toBe(0);
  });

  it('disconnects a peer at once when it is untrusted, without a restart', async () => {
    await trust(homeA, homeB);
    await trust(homeB, homeA);
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    daemons.push(b);
    await a.waitConnected(1);
    const removed = await a.cliOk(['untrust', 'beta']);
    expect(removed.text).toContain(fpB);
    await waitFor(async () => (await a.status()).peers.connected === 0, { what: 'alpha to drop beta' });
    expect((await a.cliOk(['trusted', '--json'])).text.trim()).toBe('[]');
  });

  it('drops a peer whose line an editor removed from trusted_keys behind its back, without a restart', async () => {
    await trust(homeA, homeB);
    await trust(homeB, homeA);
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    daemons.push(b);
    await a.waitConnected(1);

    // What an editor does on save: the new version written beside the file and renamed over it.
    // No CLI call, so nothing tells the daemon but its watch of the file.
    const file = join(homeA, 'trusted_keys');
    const kept = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !l.includes('beta'))
      .join('\n');
    writeFileSync(`${file}.new`, kept, { mode: 0o600 });
    renameSync(`${file}.new`, file);

    const drop = await a.waitForLog((l) => l.msg === 'key no longer trusted; disconnecting', 'alpha dropping beta');
    expect(drop['peer']).toBe(fpB);
    await waitFor(async () => (await a.status()).peers.connected === 0, { what: 'alpha to show no connected peer' });
  });
});
