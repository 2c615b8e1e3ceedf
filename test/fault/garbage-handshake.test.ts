import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Frame, encodeFrame, frameTypeOf, helloFrame, keyBlobOf } from '../helpers/clipsync-frames.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { FaultWorld, expectAlive, expectSync, isClosing, type HomeInfo } from '../helpers/fault-fixture.js';
import { RawPeer, type RawClose } from '../helpers/raw-peer.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Fault test 6: broken and hostile handshakes from a raw WebSocket client straight at a
 * listener. Each gets its close code (4005, 4009, 4004, 4003), the listener logs who it was, and
 * the listener keeps serving its real peer.
 */

const HANDSHAKE_TIMEOUT_MS = 1500;

describe('garbage and broken handshakes from a raw client', () => {
  const world = new FaultWorld();
  let homeB: HomeInfo;
  let a: TestDaemon;
  let b: TestDaemon;
  let addressA: string;
  let blobB: string;

  beforeAll(async () => {
    const homeA = await world.home('alpha', { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
    homeB = await world.home('beta');
    await world.trustAll(homeA, homeB);
    a = await world.start(homeA);
    addressA = await a.tcpAddress();
    const proxy = await TcpProxy.start(addressA);
    world.onCleanup(() => proxy.close());
    b = await world.start(homeB, { listen: [], peers: [proxy.address] });
    await a.waitConnected(1);
    await b.waitConnected(1);
    blobB = keyBlobOf(homeB.publicKey);
  });
  afterAll(() => world.cleanup());

  /**
   * Connects, lets `act` send whatever it likes, and expects alpha to close with `code`:
   * the client sees the code, and alpha logs the refusal with this client's address.
   */
  async function expectRefused(code: number, act: (raw: RawPeer) => void | Promise<void>): Promise<{ raw: RawPeer; close: RawClose }> {
    const raw = await RawPeer.connect(addressA);
    world.onCleanup(() => raw.terminate());
    await act(raw);
    const close = await raw.closeWithin();
    expect(close.code, `close seen by the client (reason: ${close.reason})`).toBe(code);
    const logged = await a.waitForLog(isClosing(code, raw.remoteAsSeenByDaemon), `alpha logging ${code} for ${raw.remoteAsSeenByDaemon}`);
    expect(String(logged['reason'])).not.toBe('');
    return { raw, close };
  }

  it('random bytes → 4005', async () => {
    await expectRefused(4005, (raw) => raw.send(randomBytes(300)));
  });

  it('a HELLO cut in half → 4005', async () => {
    const hello = helloFrame(blobB);
    await expectRefused(4005, (raw) => raw.send(hello.subarray(0, hello.length >> 1)));
  });

  it('a text message → 4005', async () => {
    const { close } = await expectRefused(4005, (raw) => raw.send(helloFrame(blobB).toString('utf8')));
    expect(close.reason).toMatch(/text/);
  });

  it('a 9 KiB handshake message → 4005', async () => {
    const hello = helloFrame(blobB);
    const big = Buffer.concat([hello, Buffer.alloc(9 * 1024 - hello.length, 0x20)]);
    expect(big.length).toBe(9 * 1024);
    await expectRefused(4005, (raw) => raw.send(big));
  });

  it('a HELLO of protocol version 1 (before clips had formats), 2 (before BLAKE3 leaf hashes) or 4 → 4003', async () => {
    for (const version of [1, 2, 4]) {
      const { close } = await expectRefused(4003, (raw) => raw.send(helloFrame(blobB, { version })));
      expect(close.reason).toContain(`version ${version}`);
    }
  });

  it('an OFFER as the first message → 4009', async () => {
    const offer = encodeFrame(Frame.offer, {
      id: randomBytes(32).toString('hex'),
      formats: [{ mime: 'text/plain', size: 5 }],
      size: 5,
      ts: Date.now(),
      origin: homeB.fingerprint,
    });
    await expectRefused(4009, (raw) => raw.send(offer));
  });

  it('a second HELLO (after alpha accepted the first and sent AUTH) → 4005', async () => {
    const { raw } = await expectRefused(4005, async (raw) => {
      raw.send(helloFrame(blobB));
      // alpha's HELLO, then its AUTH: the first HELLO (beta's trusted key) was accepted.
      expect(frameTypeOf(await raw.message(1))).toBe(Frame.auth);
      raw.send(helloFrame(blobB));
    });
    expect(frameTypeOf(raw.messages[0]!.data)).toBe(Frame.hello);
  });

  it(`silence → 4004 after handshakeTimeoutMs (${HANDSHAKE_TIMEOUT_MS} ms), and the close reaches the client`, async () => {
    const raw = await RawPeer.connect(addressA);
    world.onCleanup(() => raw.terminate());
    expect(frameTypeOf(await raw.message(0))).toBe(Frame.hello);
    const close = await raw.closeWithin();
    expect(close.code).toBe(4004);
    expect(close.reason).toMatch(/handshake/);
  });

  // The listener logs a handshake that runs out of time like every other refusal.
  it('silence → 4004 is logged by alpha with the remote address', async () => {
    const raw = await RawPeer.connect(addressA);
    world.onCleanup(() => raw.terminate());
    expect((await raw.closeWithin()).code).toBe(4004);
    // alpha logs in order: once it has logged a refusal made after the 4004, a log line for
    // the 4004 would be there already. No waiting on a clock.
    const marker = await RawPeer.connect(addressA);
    world.onCleanup(() => marker.terminate());
    marker.send(Buffer.from([0xee, 0, 0, 0, 0]));
    await a.waitForLog(isClosing(4005, marker.remoteAsSeenByDaemon), 'the marker refusal');
    const logged = a.logs.filter((l) => l['code'] === 4004 && l['remote'] === raw.remoteAsSeenByDaemon);
    expect(logged, 'a log line for the 4004 naming the client address').toHaveLength(1);
  });

  it('after all of them alpha is up and still syncs with beta', async () => {
    await expectAlive(a);
    expect(a.logs.filter((l) => l.level >= 50)).toEqual([]);
    const peers = await a.peers();
    expect(peers.filter((p) => p.state === 'connected').map((p) => p.fingerprint)).toEqual([homeB.fingerprint]);
    await expectSync(b, [a], Buffer.from('beta after the garbage'));
    await expectSync(a, [b], Buffer.from('alpha after the garbage'));
  });
});
