import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateIdentityFile, loadIdentityFile, type Identity } from '../../../src/identity/identity.js';
import { REFUSED_RETRY_MS, STABLE_CONNECTION_MS } from '../../../src/peers/dial-scheduler.js';
import { MAX_PENDING_HANDSHAKES } from '../../../src/peers/handshake-gate.js';
import { PeerManager, type PeerManagerOptions } from '../../../src/peers/peer-manager.js';
import type { PeerInfo } from '../../../src/peers/peer-types.js';
import type { Connection } from '../../../src/protocol/connection.js';
import { openSocket } from '../../../src/transport/dialer.js';
import { listen, type Listener } from '../../../src/transport/listener.js';
import { formatAddress, type Address } from '../../../src/transport/address.js';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeClock } from '../_support/fake-clock.js';
import { captureLog } from '../_support/logger.js';

/**
 * The peer manager alone: real handshakes over real ws sockets on Unix sockets in a temp dir,
 * with every retry, backoff and heartbeat on the fake clock, so schedules are checked exactly
 * and nothing waits for a timer to pass.
 */

const dir = makeTempDir('cs-peers-');
const identities: Identity[] = [];
beforeAll(async () => {
  for (const name of ['one', 'two']) {
    await generateIdentityFile(join(dir, `id_${name}`), `${name}@unit`);
    identities.push(await loadIdentityFile(join(dir, `id_${name}`)));
  }
  // Both sides agree that the smaller fingerprint dials; name them so the tests can say which.
  identities.sort((x, y) => (x.publicKey.fingerprint < y.publicKey.fingerprint ? -1 : 1));
});
afterAll(() => removeDir(dir));

/** random() = 0: every backoff delay is exactly half its ceiling (500, 1000, 2000… ms). */
const BACKOFF = { baseMs: 1000, capMs: 60_000, random: () => 0 };

interface Node {
  name: string;
  fingerprint: string;
  manager: PeerManager;
  address: Address;
  sessions: Connection[];
  trusted: Set<string>;
  listener: Listener;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let sockets = 0;
async function node(name: string, identity: Identity, clock: FakeClock, options: { trusts?: Identity[]; handshakeTimeoutMs?: number; openSocket?: PeerManagerOptions['openSocket'] } = {}): Promise<Node> {
  const trusted = new Set((options.trusts ?? identities).map((i) => i.publicKey.fingerprint));
  const sessions: Connection[] = [];
  const manager = new PeerManager({
    ownFingerprint: identity.publicKey.fingerprint,
    handshake: {
      identity,
      name,
      checkTrust: async (key) => (trusted.has(key.fingerprint) ? { name: `peer-of-${name}` } : undefined),
    },
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 20_000,
    heartbeatIntervalMs: 15_000,
    backoff: BACKOFF,
    log: captureLog().log,
    clock,
    onSession: (connection) => sessions.push(connection),
    ...(options.openSocket !== undefined ? { openSocket: options.openSocket } : {}),
  });
  const address: Address = { kind: 'unix', path: join(dir, `${name}-${++sockets}.sock`) };
  const listener = await listen(address, (socket, remote) => manager.acceptInbound(socket, remote));
  cleanups.push(async () => {
    await manager.stop(0);
    await listener.close();
  });
  return { name, fingerprint: identity.publicKey.fingerprint, manager, address, sessions, trusted, listener };
}

const open = (n: Node): Connection[] => n.sessions.filter((c) => c.isOpen);
const row = (n: Node, match: (p: PeerInfo) => boolean): PeerInfo | undefined => n.manager.list().find(match);
/** Fires timers due now (the dial a schedule of 0 ms planned) and lets their sockets start. */
const fireDue = (clock: FakeClock): Promise<void> => clock.advance(0);

/** Alpha dials beta at its static address; resolves once both hold the session. */
async function connectedPair(clock = new FakeClock()): Promise<{ a: Node; b: Node; clock: FakeClock }> {
  const a = await node('alpha', identities[0]!, clock);
  const b = await node('beta', identities[1]!, clock);
  a.manager.addStaticPeer(b.address);
  await fireDue(clock);
  await waitFor(() => open(a).length === 1 && open(b).length === 1, { what: 'one session each' });
  return { a, b, clock };
}

describe('PeerManager: dialing', () => {
  it('dials a static peer, admits the authenticated connection on both sides and lists it', async () => {
    const { a, b } = await connectedPair();
    expect(row(a, (p) => p.fingerprint === b.fingerprint)).toMatchObject({ state: 'connected', direction: 'outbound', name: 'peer-of-alpha', attempt: 0 });
    expect(row(b, (p) => p.fingerprint === a.fingerprint)).toMatchObject({ state: 'connected', direction: 'inbound' });
    expect(a.manager.connectedCount()).toBe(1);
  });

  it('retries a failing dial on the backoff schedule, exponentially, as the table shows', async () => {
    const clock = new FakeClock();
    const a = await node('alpha', identities[0]!, clock);
    a.manager.addStaticPeer({ kind: 'unix', path: join(dir, 'nobody-listens.sock') });
    await fireDue(clock);
    for (const [attempt, delay] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [4, 4000],
    ] as const) {
      const seen = await waitFor(() => row(a, (p) => p.attempt === attempt && p.state === 'backoff'), { what: `attempt ${attempt}` });
      expect(seen.nextRetryMs).toBe(delay);
      expect(seen.lastError).toMatch(/ENOENT/);
      await clock.advance(delay - 1);
      expect(row(a, (p) => p.attempt === attempt)?.nextRetryMs).toBe(1); // not a moment early
      await clock.advance(1);
    }
  });

  it('redials a dropped peer soon after a stable connection, and ever later after flapping ones', async () => {
    const clock = new FakeClock();
    const a = await node('alpha', identities[0]!, clock);
    const b = await node('beta', identities[1]!, clock);
    a.manager.addStaticPeer(b.address);
    await fireDue(clock);
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      await waitFor(() => open(a).length === 1 && open(b).length === 1, { what: `connection ${i}` });
      open(b)[0]!.close(CloseCode.goingAway, 'flap'); // drops at once: no time passed on the clock
      const waiting = await waitFor(() => row(a, (p) => p.state === 'backoff' && p.attempt === i), { what: `backoff ${i}` });
      delays.push(waiting.nextRetryMs!);
      await clock.advance(waiting.nextRetryMs!);
    }
    expect(delays).toEqual([500, 1000, 2000]);
    await waitFor(() => open(a).length === 1 && open(b).length === 1, { what: 'a connection that stays' });
    await clock.advance(STABLE_CONNECTION_MS);
    open(b)[0]!.close(CloseCode.goingAway, 'after a long while');
    const after = await waitFor(() => row(a, (p) => p.state === 'backoff'), { what: 'backoff after a stable connection' });
    expect(after).toMatchObject({ attempt: 1, nextRetryMs: 500 });
  });

  it('marks a peer that does not trust us as refused and asks again only after 30 s', async () => {
    const clock = new FakeClock();
    const a = await node('alpha', identities[0]!, clock);
    const b = await node('beta', identities[1]!, clock, { trusts: [identities[1]!] });
    a.manager.addStaticPeer(b.address);
    await fireDue(clock);
    const refused = await waitFor(() => row(a, (p) => p.state === 'refused'), { what: 'refused' });
    expect(REFUSED_RETRY_MS).toBe(30_000);
    expect(refused).toMatchObject({ nextRetryMs: REFUSED_RETRY_MS, attempt: 1 });
    expect(refused.lastError).toMatch(/refused this machine's key/);
    expect(row(b, (p) => p.fingerprint === a.fingerprint)).toMatchObject({ state: 'refused' }); // who knocked
    expect(open(a)).toEqual([]);
    await clock.advance(REFUSED_RETRY_MS - 1);
    expect(row(a, (p) => p.state === 'refused')).toMatchObject({ attempt: 1, nextRetryMs: 1 });
    b.trusted.add(a.fingerprint); // trust granted meanwhile: the next ask succeeds
    await clock.advance(1);
    await waitFor(() => open(a).length === 1 && open(b).length === 1, { what: 'connected after the retry' });
  });

  it('dials through the injected openSocket', async () => {
    const clock = new FakeClock();
    const b = await node('beta', identities[1]!, clock);
    const dialed: string[] = [];
    const a = await node('alpha', identities[0]!, clock, {
      // Every dial reaches beta, whatever address it was for.
      openSocket: (address, timeoutMs) => {
        dialed.push(formatAddress(address));
        return openSocket(b.address, timeoutMs);
      },
    });
    a.manager.addStaticPeer({ kind: 'unix', path: join(dir, 'redirected.sock') });
    await fireDue(clock);
    await waitFor(() => open(a).length === 1 && open(b).length === 1, { what: 'one session each' });
    expect(dialed).toEqual([`unix:${join(dir, 'redirected.sock')}`]);
    expect(row(a, (p) => p.fingerprint === b.fingerprint)).toMatchObject({ state: 'connected', address: `unix:${join(dir, 'redirected.sock')}` });
  });
});

describe('PeerManager: one connection per peer', () => {
  it('keeps exactly one connection when both dial at once: the one the smaller fingerprint dialed', async () => {
    const clock = new FakeClock();
    const a = await node('alpha', identities[0]!, clock); // the smaller fingerprint
    const b = await node('beta', identities[1]!, clock);
    a.manager.addStaticPeer(b.address);
    b.manager.addStaticPeer(a.address);
    await fireDue(clock);
    await waitFor(() => open(a).length === 1 && open(b).length === 1 && a.sessions.length + b.sessions.length >= 2, { what: 'one live connection each' });
    await waitFor(() => a.manager.list().every((p) => p.state === 'connected' || p.state === 'disconnected'), { what: 'dials settled' });
    expect(open(a)[0]!.role).toBe('initiator');
    expect(open(b)[0]!.role).toBe('responder');
    expect(a.manager.connectedCount()).toBe(1);
    expect(b.manager.connectedCount()).toBe(1);
    // Neither side redials the duplicate: no dial waits on the clock for this peer.
    expect(a.manager.list().filter((p) => p.state === 'backoff')).toEqual([]);
  });
});

describe('PeerManager: activity (what the network watch is needed for)', () => {
  it('is inactive with no peers, and says when an address to dial or an inbound connection appears', async () => {
    const clock = new FakeClock();
    const a = await node('alpha', identities[0]!, clock);
    const b = await node('beta', identities[1]!, clock);
    let aActive = 0;
    let bActive = 0;
    a.manager.whenActive(() => aActive++);
    b.manager.whenActive(() => bActive++);
    expect(a.manager.isActive()).toBe(false);
    expect(b.manager.isActive()).toBe(false);

    a.manager.addStaticPeer(b.address);
    expect(aActive).toBe(1);
    expect(a.manager.isActive()).toBe(true);
    await fireDue(clock);
    await waitFor(() => open(a).length === 1 && open(b).length === 1, { what: 'one session each' });
    // Beta dials nobody: its inbound connection is what makes it active.
    expect(bActive).toBe(1);
    expect(b.manager.isActive()).toBe(true);

    // The connection ends: beta has nothing left to watch for.
    open(b)[0]!.close(CloseCode.normal, 'done');
    await waitFor(() => !b.manager.isActive(), { what: 'beta inactive after the close' });
    expect(a.manager.isActive()).toBe(true); // alpha keeps its static address to redial
  });
});

describe('PeerManager: trust and admission', () => {
  it('closes the connection of a key that is no longer trusted, with 4001, and counts it', async () => {
    const { a, b } = await connectedPair();
    const closing = new Promise<number>((resolve) => open(a)[0]!.once('close', (info) => resolve(info.code)));
    expect(await b.manager.revalidate(async () => true)).toBe(0);
    expect(await b.manager.revalidate(async (fp) => fp !== a.fingerprint)).toBe(1);
    expect(await closing).toBe(CloseCode.untrusted);
    const after = await waitFor(() => row(a, (p) => p.fingerprint === b.fingerprint && p.state !== 'connected'), { what: 'disconnected on alpha' });
    expect(after.lastError).toMatch(/key no longer trusted/);
  });

  it(`turns inbound sockets away with 1013 past ${MAX_PENDING_HANDSHAKES} handshakes in progress`, async () => {
    const clock = new FakeClock();
    const b = await node('beta', identities[1]!, clock, { handshakeTimeoutMs: 600_000 });
    // Silent clients: they open the socket and never send a HELLO, so each stays in the handshake.
    const silent: WebSocket[] = [];
    for (let i = 0; i < MAX_PENDING_HANDSHAKES; i++) silent.push(openSocket(b.address, 10_000));
    cleanups.push(async () => {
      for (const socket of silent) socket.terminate();
    });
    await waitFor(() => silent.every((s) => s.readyState === WebSocket.OPEN), { what: 'silent sockets open' });
    const extra = openSocket(b.address, 10_000);
    silent.push(extra);
    const code = await new Promise<number>((resolve) => extra.once('close', (c: number) => resolve(c)));
    expect(code).toBe(1013);
  });

  it('says goodbye with 1001 when it stops', async () => {
    const { a, b } = await connectedPair();
    const seen = new Promise<{ code: number; reason: string }>((resolve) => open(a)[0]!.once('close', resolve));
    await b.manager.stop();
    expect(await seen).toMatchObject({ code: CloseCode.goingAway, reason: 'peer is shutting down' });
  });
});
