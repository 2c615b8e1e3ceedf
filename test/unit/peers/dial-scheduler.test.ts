import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { DialScheduler, PAIRED_GRACE_MS, REFUSED_RETRY_MS, STABLE_CONNECTION_MS } from '../../../src/peers/dial-scheduler.js';
import type { DialTarget } from '../../../src/peers/dial-target.js';
import type { Connection } from '../../../src/protocol/connection.js';
import type { HandshakeResult } from '../../../src/secure/handshake.js';
import { formatAddress, type Address } from '../../../src/transport/address.js';
import { CloseCode, ProtocolViolation } from '../../../src/wire/close-codes.js';
import { FakeClock } from '../_support/fake-clock.js';
import { turns } from '../_support/event-loop.js';
import { captureLog } from '../_support/logger.js';

/**
 * The dial schedule alone: every dial is answered at once by a script (unreachable, refused,
 * a duplicate, authenticated), and time moves only on the fake clock, so each delay is
 * checked to the millisecond.
 */

/** random() = 0: every backoff delay is exactly half its ceiling (500, 1000, 2000… ms). */
const BACKOFF = { baseMs: 1000, capMs: 8000, random: () => 0 };
const PEER = 'SHA256:peer';

type Outcome = 'unreachable' | 'refused' | 'duplicate' | 'authenticated' | 'pending';


function setup(options: { live?: () => boolean } = {}) {
  const clock = new FakeClock();
  const dialed: string[] = [];
  const authenticated: DialTarget[] = [];
  /** What the next dials meet, in order; 'unreachable' once the script runs out. */
  const script: Outcome[] = [];
  const scheduler = new DialScheduler({
    clock,
    backoff: BACKOFF,
    log: captureLog().log,
    isLive: () => options.live?.() ?? false,
    onAuthenticated: (_connection, _peer, target) => authenticated.push(target),
    connect: (address: Address) => {
      dialed.push(formatAddress(address));
      return { socket: new EventEmitter() as unknown as WebSocket, connection: scripted(script.shift() ?? 'unreachable') };
    },
  });
  const targetOf = (): DialTarget => scheduler.targets[0]!;
  /** Moves the clock by `ms` and lets the dials that fall due settle. */
  const advance = (ms: number): Promise<void> => clock.advance(ms, () => turns(1));
  return { clock, scheduler, dialed, authenticated, script, targetOf, advance };
}

/** A stand-in for the connection of one dial, ending the way `outcome` says. */
function scripted(outcome: Outcome): Connection {
  const fail = (err: Error, opened: boolean, claimed?: string): Connection =>
    ({ established: () => Promise.reject(err), wasOpened: opened, claimedPeer: claimed === undefined ? undefined : { fingerprint: claimed, name: 'peer' } }) as unknown as Connection;
  switch (outcome) {
    case 'unreachable':
      return fail(new Error('connect ENOENT'), false);
    case 'refused':
      return fail(new ProtocolViolation(CloseCode.untrusted, 'your key is not trusted', true), true, PEER);
    case 'pending': // a dial still under way (as a real socket is for a while)
      return { established: () => new Promise(() => undefined), wasOpened: false } as unknown as Connection;
    case 'duplicate':
      return fail(new ProtocolViolation(CloseCode.duplicate, 'duplicate connection'), true, PEER);
    case 'authenticated': {
      const peer = { peerKey: { fingerprint: PEER }, peerName: 'peer', pairing: false } as unknown as HandshakeResult;
      return { established: () => Promise.resolve(peer), wasOpened: true } as unknown as Connection;
    }
  }
}

const A: Address = { kind: 'unix', path: '/tmp/cs-peer-a.sock' };
const B: Address = { kind: 'unix', path: '/tmp/cs-peer-b.sock' };

describe('DialScheduler', () => {
  it('dials a new static peer at once and retries a failing one after 500, 1000, 2000, 4000, then the cap', async () => {
    const { scheduler, dialed, targetOf, advance } = setup();
    scheduler.addStatic(A);
    await advance(0);
    expect(dialed).toHaveLength(1);
    for (const [attempt, delay] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [4, 4000],
      [5, 4000],
      [6, 4000],
    ] as const) {
      expect(targetOf()).toMatchObject({ state: 'backoff', attempt, lastError: 'connect ENOENT' });
      await advance(delay - 1);
      expect(dialed).toHaveLength(attempt); // not a moment early
      await advance(1);
      expect(dialed).toHaveLength(attempt + 1);
    }
  });

  it('dials an address once when both a --peer and mDNS name it: no second dial to meet the tie-break', async () => {
    // As in the daemon: an authenticated dial is a live connection at once.
    let admitted: readonly DialTarget[] = [];
    const { scheduler, dialed, script, advance, authenticated } = setup({ live: () => admitted.length > 0 });
    admitted = authenticated;
    script.push('authenticated');
    // mDNS first: the --peer target does not know the key behind its address yet.
    const found = scheduler.addDiscovered(PEER, [A]);
    const fixed = scheduler.addStatic(A);
    await advance(0);
    expect(dialed).toEqual([formatAddress(A)]);
    expect(fixed).toMatchObject({ state: 'idle', fingerprint: PEER }); // learned from its twin
    expect(found.state).toBe('idle');
  });

  it('keeps a --peer twin standing by while the mDNS target dials, and dials it once mDNS drops the peer', async () => {
    const { scheduler, dialed, script, advance } = setup();
    script.push('pending', 'unreachable');
    const found = scheduler.addDiscovered(PEER, [A]);
    const fixed = scheduler.addStatic(A);
    await advance(0);
    expect(dialed).toHaveLength(1); // the mDNS dial is under way: the --peer twin stands by
    expect([found.state, fixed.state]).toEqual(['connecting', 'idle']);
    scheduler.removeDiscovered(PEER); // the peer left the network: the --peer address dials by itself
    expect(scheduler.targets).toEqual([fixed]);
    await advance(0);
    expect(dialed).toHaveLength(2);
    expect(fixed.state).toBe('backoff');
  });

  it('asks a peer that refused us again only after REFUSED_RETRY_MS', async () => {
    const { scheduler, dialed, script, targetOf, advance } = setup();
    script.push('refused');
    scheduler.addStatic(A);
    await advance(0);
    expect(targetOf()).toMatchObject({ state: 'refused', attempt: 1, fingerprint: PEER, lastError: "peer refused this machine's key (trust it there: clipsync trust, or clipsync pair)" });
    await advance(REFUSED_RETRY_MS - 1);
    expect(dialed).toHaveLength(1);
    await advance(1);
    expect(dialed).toHaveLength(2);
  });

  it('right after a pairing, asks a peer that refused us again on the backoff schedule (it trusts us a moment later)', async () => {
    const { scheduler, dialed, script, targetOf, advance } = setup();
    script.push('refused', 'refused', 'authenticated');
    scheduler.addPaired(A, PEER);
    await advance(0);
    expect(targetOf()).toMatchObject({ state: 'refused', attempt: 1 });
    await advance(500); // the first backoff step, not REFUSED_RETRY_MS
    expect(dialed).toHaveLength(2);
    await advance(1000);
    expect(dialed).toHaveLength(3);
    expect(targetOf()).toMatchObject({ state: 'idle' });
  });

  it('once the pairing is PAIRED_GRACE_MS old, a refusal waits REFUSED_RETRY_MS again', async () => {
    const { clock, scheduler, dialed, script, targetOf, advance } = setup();
    script.push('refused');
    scheduler.addPaired(A, PEER);
    targetOf().pairedAt = clock.now() - PAIRED_GRACE_MS; // paired a while ago
    await advance(0);
    expect(targetOf()).toMatchObject({ state: 'refused', attempt: 1 });
    await advance(REFUSED_RETRY_MS - 1);
    expect(dialed).toHaveLength(1);
    await advance(1);
    expect(dialed).toHaveLength(2);
  });

  it('hands an authenticated dial over and goes idle; a duplicate goes idle without a retry', async () => {
    const { clock, scheduler, authenticated, script, targetOf, advance } = setup();
    script.push('authenticated');
    scheduler.addStatic(A);
    await advance(0);
    expect(authenticated).toEqual([targetOf()]);
    expect(targetOf()).toMatchObject({ state: 'idle', fingerprint: PEER, lastError: undefined });

    script.push('duplicate');
    scheduler.redialAfterDrop(PEER, STABLE_CONNECTION_MS);
    await advance(500);
    expect(targetOf()).toMatchObject({ state: 'idle', nextRetryAt: undefined });
    expect(clock.pendingTimers).toBe(0);
  });

  it('after a drop: a connection that lasted STABLE_CONNECTION_MS starts again at 500 ms, flapping ones keep doubling', async () => {
    const { scheduler, script, targetOf, advance, clock } = setup();
    script.push('authenticated');
    scheduler.addStatic(A);
    await advance(0);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      script.push('authenticated');
      scheduler.redialAfterDrop(PEER, STABLE_CONNECTION_MS - 1);
      delays.push(clock.pendingDelays()[0]!);
      await advance(delays.at(-1)!);
    }
    expect(delays).toEqual([500, 1000, 2000]);
    scheduler.redialAfterDrop(PEER, STABLE_CONNECTION_MS);
    expect(targetOf()).toMatchObject({ state: 'backoff', attempt: 1 });
    expect(clock.pendingDelays()).toEqual([500]);
  });

  it('skips the dial while a connection to the key is live', async () => {
    let live = false;
    const { scheduler, dialed, script, targetOf, advance } = setup({ live: () => live });
    script.push('authenticated');
    scheduler.addStatic(A);
    await advance(0);
    live = true;
    scheduler.redialAfterDrop(PEER, 0);
    await advance(1000);
    expect(dialed).toHaveLength(1);
    expect(targetOf().state).toBe('idle');
  });

  it('moves a dial waiting out its backoff forward when the peer is seen or the network changes', async () => {
    const { scheduler, dialed, targetOf, advance } = setup();
    scheduler.addDiscovered(PEER, [A]);
    await advance(0);
    await advance(500);
    await advance(1000);
    expect(targetOf()).toMatchObject({ state: 'backoff', attempt: 3 });
    scheduler.peerSeen(PEER);
    await advance(0);
    expect(dialed).toHaveLength(4);
    expect(targetOf().attempt).toBe(4); // seen is not proof of reach: the schedule goes on
    scheduler.redialWaiting();
    await advance(0);
    expect(dialed).toHaveLength(5);
    expect(targetOf().attempt).toBe(1); // a new network: a fresh schedule
  });

  it('tries the next address of a discovered peer after an unreachable one', async () => {
    const { scheduler, dialed, advance } = setup();
    scheduler.addDiscovered(PEER, [A, B]);
    await advance(0);
    await advance(500);
    await advance(1000);
    expect(dialed).toEqual([formatAddress(A), formatAddress(B), formatAddress(A)]);
  });

  it('redials only static addresses whose key is unknown when an unknown peer dials in', async () => {
    const { scheduler, dialed, script, advance } = setup();
    script.push('unreachable', 'authenticated');
    scheduler.addStatic(A);
    scheduler.addStatic(B);
    await advance(0);
    expect(dialed).toEqual([formatAddress(A), formatAddress(B)]);
    scheduler.retryUnidentified();
    await advance(0);
    expect(dialed).toEqual([formatAddress(A), formatAddress(B), formatAddress(A)]);
  });

  it('stops dialing a discovered peer that left, and everything on stop', async () => {
    const { clock, scheduler, dialed, advance } = setup();
    scheduler.addDiscovered(PEER, [A]);
    scheduler.addStatic(B);
    await advance(0);
    scheduler.removeDiscovered(PEER);
    expect(scheduler.targets.map((t) => t.address)).toEqual([formatAddress(B)]);
    scheduler.stop();
    expect(clock.pendingTimers).toBe(0);
    scheduler.peerSeen(PEER);
    scheduler.redialWaiting();
    await advance(60_000);
    expect(dialed).toHaveLength(2);
  });
});
