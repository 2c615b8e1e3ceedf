import sodium from 'sodium-native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Frame, decodeFrame, encodeFrame, frameTypeOf } from '../helpers/clipsync-frames.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { FaultWorld, expectSync, isClosing, pasteOf, type HomeInfo } from '../helpers/fault-fixture.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { WsProxy, passThrough } from '../helpers/ws-proxy.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Fault tests 2 and 3: an active attacker on the handshake. Swapping the X25519 ephemeral
 * keys (to read the channel) breaks both signatures; replaying a real peer's recorded HELLO
 * and AUTH on a fresh connection fails because the signature covers the other side's fresh
 * HELLO too. Both end in 4002 and move no clip.
 */

/** An X25519 key pair of the attacker's own (crypto_kx, as the daemons use). */
function attackerKx(): Buffer {
  const publicKey = Buffer.alloc(sodium.crypto_kx_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_kx_SECRETKEYBYTES);
  sodium.crypto_kx_keypair(publicKey, secretKey);
  return publicKey;
}

describe('a man in the middle of the handshake', () => {
  let world: FaultWorld;
  let homeA: HomeInfo;
  let homeB: HomeInfo;
  let a: TestDaemon;
  let proxy: WsProxy;

  beforeEach(async () => {
    world = new FaultWorld();
    homeA = await world.home('alpha');
    homeB = await world.home('beta');
    await world.trustAll(homeA, homeB);
    a = await world.start(homeA);
    proxy = await WsProxy.start(await a.tcpAddress());
    world.onCleanup(() => proxy.close());
  });
  afterEach(() => world.cleanup());

  it('who swaps the ephemeral keys in both HELLOs is refused with 4002 and gets no clip through', async () => {
    await a.cliOk(['copy'], { input: 'alpha clip the attacker wants' });
    const swapped: { session: number; direction: string; original: string; replaced: string }[] = [];
    proxy.hook = (direction, _index, data, session) => {
      if (frameTypeOf(data) !== Frame.hello) return [data];
      const { header, body } = decodeFrame(data);
      const replaced = attackerKx().toString('base64');
      swapped.push({ session: session.id, direction, original: String(header['eph']), replaced });
      return [encodeFrame(Frame.hello, { ...header, eph: replaced }, body)];
    };
    const b = await world.start(homeB, { listen: [], peers: [proxy.address] });

    // The listener refuses the initiator's AUTH: its signature covers the real eph.
    const refusal = await a.waitForLog(isClosing(4002), 'alpha refusing with 4002');
    expect(String(refusal['reason'])).toContain(homeB.fingerprint);
    expect(String(refusal['remote'])).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    // The dialer reports the same refusal (its own check or alpha's close, whichever was first).
    const dialer = await b.waitForLog((l) => l.msg === 'peer connection refused' && l['code'] === 4002, 'beta refused with 4002');
    expect(String(dialer['reason'])).toMatch(/bad handshake signature/);
    const peerOfB = await waitFor(async () => (await b.peers()).find((p) => p.state === 'refused'), { what: 'refused state on beta' });
    expect(peerOfB.lastError).toMatch(/bad handshake signature/);
    // alpha does not list beta as refused: the key in a HELLO whose signature failed is only a
    // claim, and a stranger must not be able to mark a trusted peer as refused by making one.
    expect((await a.peers()).find((p) => p.fingerprint === homeB.fingerprint)).toBeUndefined();

    // Both HELLOs were rewritten, and both legs closed with 4002.
    const firstSession = swapped.filter((s) => s.session === 0);
    expect(firstSession.map((s) => s.direction).sort()).toEqual(['toClient', 'toServer']);
    expect(firstSession.every((s) => s.original !== s.replaced)).toBe(true);
    const session = await proxy.waitUntil(() => (proxy.sessions[0]?.ended ? proxy.sessions[0] : undefined), 'the session to end');
    expect(session.serverClose?.code).toBe(4002);
    expect(session.clientClose?.code).toBe(4002);
    // Neither side sent anything after the handshake: HELLO and AUTH only.
    expect(session.fromClient.length).toBeLessThanOrEqual(2);
    expect(session.fromServer.length).toBeLessThanOrEqual(2);

    // No clip crossed in either direction.
    await b.cliOk(['copy'], { input: 'beta clip' });
    expect(await pasteOf(b)).toEqual(Buffer.from('beta clip'));
    expect((await pasteOf(a))?.toString()).toBe('alpha clip the attacker wants');
    expect(a.logs.filter((l) => l.msg === 'clip received')).toEqual([]);
    expect(b.logs.filter((l) => l.msg === 'clip received')).toEqual([]);
    expect(a.logs.filter((l) => l.msg === 'peer connected')).toEqual([]);
    expect(b.logs.filter((l) => l.msg === 'peer connected')).toEqual([]);
    expect((await a.status()).peers.connected).toBe(0);
  });

  it('who replays a recorded HELLO and AUTH (a valid signature over another transcript) is refused with 4002', async () => {
    proxy.hook = passThrough;
    const b = await world.start(homeB, { listen: [], peers: [proxy.address] });
    await a.waitConnected(1);
    await b.waitConnected(1);
    const session = proxy.sessions[0]!;
    const [hello, auth] = session.fromClient;
    expect(frameTypeOf(hello!)).toBe(Frame.hello);
    expect(frameTypeOf(auth!)).toBe(Frame.auth);
    expect(decodeFrame(hello!).header['key']).toBe(homeB.publicKey.split(' ')[1]);

    const raw = await RawPeer.connect(await a.tcpAddress());
    raw.send(hello!);
    expect(frameTypeOf(await raw.message(0))).toBe(Frame.hello);
    raw.send(auth!);
    const close = await raw.closeWithin();
    expect(close.code).toBe(4002);
    const logged = await a.waitForLog(isClosing(4002, raw.remoteAsSeenByDaemon), 'alpha logging the replay with its remote');
    expect(String(logged['reason'])).toContain(homeB.fingerprint);

    // The real beta is untouched: still connected, still syncing.
    const peersOfA = await a.peers();
    expect(peersOfA.find((p) => p.fingerprint === homeB.fingerprint)?.state).toBe('connected');
    await expectSync(b, [a], Buffer.from('after the replay'));
    expect(a.logs.filter((l) => l.msg === 'peer connected')).toHaveLength(1);
  });
});
