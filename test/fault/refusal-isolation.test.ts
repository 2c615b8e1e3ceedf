import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloFrame, keyBlobOf } from '../helpers/clipsync-frames.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { FaultWorld, expectAlive, expectSync, isClosing, pasteOf, type HomeInfo } from '../helpers/fault-fixture.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Fault test 8: a listener under a stream of refused, untrusted connections (a real daemon
 * and raw clients presenting an untrusted key) keeps its trusted peer connected and syncing.
 */

/** Untrusted HELLO floods run on this many connections at a time. */
const FLOODERS = 3;

describe('a listener refusing an attacker while serving a trusted peer', () => {
  const world = new FaultWorld();
  let homeB: HomeInfo;
  let homeC: HomeInfo;
  let a: TestDaemon;
  let b: TestDaemon;
  let c: TestDaemon;
  let addressA: string;

  beforeAll(async () => {
    const homeA = await world.home('alpha');
    homeB = await world.home('beta');
    homeC = await world.home('mallory');
    await world.trustAll(homeA, homeB); // nobody trusts mallory's key
    a = await world.start(homeA);
    addressA = await a.tcpAddress();
    const proxy = await TcpProxy.start(addressA);
    world.onCleanup(() => proxy.close());
    b = await world.start(homeB, { listen: [], peers: [proxy.address] });
    await a.waitConnected(1);
    await b.waitConnected(1);
  });
  afterAll(() => world.cleanup());

  it('keeps A↔B syncing while untrusted dials are refused over and over', async () => {
    // A real daemon with an untrusted key dials alpha and is refused.
    c = await world.start(homeC, { listen: [], peers: [addressA] });
    const refusedC = await a.waitForLog((l) => isClosing(4001)(l) && String(l['reason']).includes(homeC.fingerprint), 'alpha refusing mallory');
    expect(String(refusedC['remote'])).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const seenByC = await waitFor(async () => (await c.peers()).find((p) => p.state === 'refused'), { what: 'mallory refused' });
    expect(seenByC.lastError).toMatch(/refused this machine's key|does not trust/);

    // Then mallory's key knocks again and again, from raw clients, for as long as A and B work.
    const blobC = keyBlobOf(homeC.publicKey);
    const codes: number[] = [];
    let flooding = true;
    let wake: () => void = () => undefined;
    const flood = async (): Promise<void> => {
      while (flooding) {
        const raw = await RawPeer.connect(addressA);
        raw.send(helloFrame(blobC, { name: 'mallory' }));
        codes.push((await raw.closeWithin()).code);
        wake();
      }
    };
    const refusals = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => (codes.length >= n ? resolve() : undefined);
        wake = check;
        check();
      });
    const flooders = Array.from({ length: FLOODERS }, flood);
    try {
      await refusals(3);
      const during = codes.length;
      await expectSync(b, [a], Buffer.from(`beta during the flood ${randomBytes(4).toString('hex')}`));
      await expectSync(a, [b], Buffer.from(`alpha during the flood ${randomBytes(4).toString('hex')}`));
      await expectSync(b, [a], randomBytes(1024 * 1024 + 5), 'application/octet-stream');
      await expectSync(a, [b], Buffer.from('alpha, last during the flood'));
      expect(codes.length, 'refusals went on while A and B synced').toBeGreaterThan(during);
      await refusals(30);
    } finally {
      flooding = false;
      await Promise.all(flooders);
    }

    expect(new Set(codes)).toEqual(new Set([4001]));
    // Each refusal was logged (the log arrives through a pipe, possibly after the close did).
    const logged = (): number => a.logs.filter((l) => isClosing(4001)(l) && String(l['reason']).includes(homeC.fingerprint)).length;
    await waitFor(() => logged() >= codes.length + 1, { what: `alpha logging ${codes.length + 1} refusals of mallory (has ${logged()})` });

    // A still has exactly B connected, lists mallory as refused, and never gave mallory a clip.
    await expectAlive(a);
    const peersOfA = await a.peers();
    expect(peersOfA.find((p) => p.fingerprint === homeB.fingerprint)?.state).toBe('connected');
    expect(peersOfA.find((p) => p.fingerprint === homeC.fingerprint)?.state).toBe('refused');
    expect((await a.status()).peers.connected).toBe(1);
    expect(await pasteOf(c)).toBeUndefined();
    expect(c.logs.filter((l) => l.msg === 'clip received')).toEqual([]);
    expect(a.logs.filter((l) => l.msg === 'peer disconnected')).toEqual([]);
  });
});
