import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestDaemon } from '../helpers/daemon.js';
import { FaultWorld, expectSync, isClosing, logCursor, pasteOf, type HomeInfo } from '../helpers/fault-fixture.js';
import { WsProxy, type ProxySession } from '../helpers/ws-proxy.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Fault tests 4 and 5: an attacker altering the encrypted channel after the handshake (a
 * flipped bit, a replayed message, two messages swapped). The receiver must close with 4008,
 * apply nothing partial, and sync again once the network is honest.
 */

/**
 * Changes what B sends A after the handshake. `k` counts B→A messages from the moment of
 * arming on a live connection, or from the first post-handshake message (after HELLO and
 * AUTH) on connections made later; `state` is per connection, for holding messages.
 */
type Tamper = (k: number, data: Buffer, state: { held?: Buffer }) => Buffer[];

const HANDSHAKE_MESSAGES = 2;

function flipBit(data: Buffer): Buffer {
  const out = Buffer.from(data);
  out[out.length >> 1]! ^= 0x04;
  return out;
}

describe('tampering with encrypted frames between two daemons', () => {
  const world = new FaultWorld();
  let homeB: HomeInfo;
  let a: TestDaemon;
  let b: TestDaemon;
  let proxy: WsProxy;
  let tamper: Tamper | undefined;
  const base = new Map<number, number>();
  const perSession = new Map<number, { held?: Buffer }>();
  /** What the tamper function was applied to: session id and k, for the assertions. */
  let touched: { session: number; k: number }[] = [];

  function arm(t: Tamper): void {
    base.clear();
    perSession.clear();
    touched = [];
    for (const s of proxy.sessions) if (!s.ended) base.set(s.id, s.fromClient.length);
    tamper = t;
  }
  function disarm(): void {
    tamper = undefined;
  }

  beforeAll(async () => {
    // Every tampered connection dies young, so the backoff keeps growing across the tests
    // (it resets only after a connection stayed up); cap it low so redials come quickly.
    const quick = { backoffBaseMs: 200, backoffCapMs: 2000 };
    const homeA = await world.home('alpha', quick);
    homeB = await world.home('beta', quick);
    await world.trustAll(homeA, homeB);
    a = await world.start(homeA);
    proxy = await WsProxy.start(await a.tcpAddress(), (direction, index, data, session: ProxySession) => {
      if (direction !== 'toServer' || tamper === undefined) return [data];
      const k = index - (base.get(session.id) ?? HANDSHAKE_MESSAGES);
      if (k < 0) return [data];
      touched.push({ session: session.id, k });
      let state = perSession.get(session.id);
      if (state === undefined) perSession.set(session.id, (state = {}));
      return tamper(k, data, state);
    });
    world.onCleanup(() => proxy.close());
    b = await world.start(homeB, { listen: [], peers: [proxy.address] });
  });
  afterAll(() => world.cleanup());

  beforeEach(async () => {
    disarm();
    await a.waitConnected(1);
    await b.waitConnected(1);
  });

  /**
   * The common course: A holds `old`; B copies `clip` while `t` is armed; A must close with
   * 4008, keep `old` through B's tampered reconnections, and take `clip` once the proxy is
   * honest again.
   */
  async function tamperedCopy(t: Tamper, clip: Buffer, mime: string): Promise<void> {
    const old = Buffer.from(`old clip ${randomBytes(8).toString('hex')}`);
    await expectSync(a, [b], old);
    const logA = logCursor(a);
    const logB = logCursor(b);
    const sessionsBefore = proxy.sessions.length;
    // One live connection (any closed by an earlier test has finished closing).
    const live = await proxy.waitUntil(() => {
      const open = proxy.sessions.filter((s) => !s.ended);
      return open.length === 1 ? open : undefined;
    }, 'exactly one live connection through the proxy');
    arm(t);

    const copied = await b.cli(['copy', '--wait', '--json', '--mime', mime], { input: clip });
    expect(copied.code, 'copy --wait reports the failed delivery').not.toBe(0);
    expect((JSON.parse(copied.text) as { peers: { status: string }[] }).peers.map((p) => p.status)).toEqual(['failed']);

    const closing = await logA.wait(isClosing(4008), 'alpha closing with 4008');
    expect(closing['peer']).toBe(homeB.fingerprint);
    expect(String(closing['remote'])).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(String(closing['reason'])).toMatch(/decrypt/);
    await logB.wait((l) => l.msg === 'peer disconnected' && l['code'] === 4008, 'beta told of the 4008');
    // It was the connection that carried the copy that was tampered with and closed.
    await proxy.waitUntil(() => live[0]!.ended, 'the tampered connection to end');
    expect(live[0]!.serverClose?.code).toBe(4008);
    expect(touched.filter((x) => x.session === live[0]!.id).map((x) => x.k)[0]).toBe(0);
    const seenByA = await waitFor(async () => (await a.peers()).find((p) => p.fingerprint === homeB.fingerprint && /decrypt/.test(p.lastError ?? '')), {
      what: 'alpha showing the decrypt failure',
    });
    expect(seenByA.lastError).toMatch(/frame failed to decrypt/);

    // B redials (its clip is offered again on every new connection) and is refused each time.
    await proxy.waitUntil(
      () => proxy.sessions.slice(sessionsBefore).filter((s) => s.serverClose?.code === 4008).length >= 2,
      'a second tampered connection closed with 4008',
    );
    expect(await pasteOf(a), 'alpha still holds the old clip').toEqual(old);
    expect(logA.lines().filter((l) => l.msg === 'clip received')).toEqual([]);
    expect(logA.lines().filter((l) => l.level >= 50)).toEqual([]);

    disarm();
    await logA.wait((l) => l.msg === 'clip received', 'the clip once the proxy is honest', 60_000);
    expect((await pasteOf(a))?.equals(clip), 'alpha has the whole clip').toBe(true);
    await a.waitConnected(1);
    await b.waitConnected(1);
    await expectSync(b, [a], Buffer.from(`later ${randomBytes(8).toString('hex')}`));
  }

  it('a flipped bit in the OFFER closes with 4008; the clip is unchanged; sync resumes after', async () => {
    await tamperedCopy((_k, data) => [flipBit(data)], Buffer.from(`new clip ${randomBytes(8).toString('hex')}`), 'text/plain');
    expect(touched.length).toBeGreaterThan(0);
  });

  it('a replayed (duplicated) frame closes with 4008 and no partial clip is applied', async () => {
    const big = randomBytes(1024 * 1024);
    await tamperedCopy((k, data) => (k === 1 ? [data, data] : [data]), big, 'application/octet-stream');
  });

  it('two reordered frames close with 4008 and no partial clip is applied', async () => {
    const big = randomBytes(1024 * 1024);
    await tamperedCopy(
      (k, data, state) => {
        if (k === 1) {
          state.held = data;
          return [];
        }
        if (k === 2 && state.held !== undefined) return [data, state.held];
        return [data];
      },
      big,
      'application/octet-stream',
    );
  });
});
