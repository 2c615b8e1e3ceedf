import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentityFile, loadIdentityFile, type Identity } from '../../../src/identity/identity.js';
import { Connection, type ConnectionClose, type ConnectionState } from '../../../src/protocol/connection.js';
import { MAX_DATA_BODY_BYTES } from '../../../src/protocol/limits.js';
import { openSocket } from '../../../src/transport/dialer.js';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { FrameType, encodeFrame, type Frame } from '../../../src/wire/frame.js';
import { Handshake } from '../../../src/secure/handshake.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';
import { FakeClock } from '../_support/fake-clock.js';
import { captureLog } from '../_support/logger.js';
import { socketPair, unopenedSocketPair, type SocketPair } from '../_support/socket-pair.js';
import { turns, untilTrue } from '../_support/event-loop.js';

/**
 * Connection alone, over two real ws sockets joined in memory: real handshakes, real ws
 * framing and backpressure, and every deadline on the fake clock.
 */

const dir = makeTempDir('cs-conn-');
let alpha: Identity;
let beta: Identity;
beforeAll(async () => {
  await generateIdentityFile(join(dir, 'id_alpha'), 'alpha@unit');
  await generateIdentityFile(join(dir, 'id_beta'), 'beta@unit');
  alpha = await loadIdentityFile(join(dir, 'id_alpha'));
  beta = await loadIdentityFile(join(dir, 'id_beta'));
});
afterAll(() => removeDir(dir));

const trustAll = async (): Promise<{ name: string }> => ({ name: 'trusted' });

interface Pair {
  sockets: SocketPair;
  initiator: Connection;
  responder: Connection;
  clock: FakeClock;
  /** Every state each side passed through, in order. */
  states: { initiator: ConnectionState[]; responder: ConnectionState[] };
  /** Opens the sockets, when made with `opened: false`. */
  open: () => void;
}

function connect(options: { heartbeatIntervalMs?: number; handshakeTimeoutMs?: number; responder?: boolean; opened?: boolean } = {}): Pair {
  const clock = new FakeClock();
  const sockets = options.opened === false ? unopenedSocketPair() : { ...socketPair(), open: () => undefined };
  const common = { handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000, log: captureLog().log, clock };
  const initiator = new Connection(sockets.client, {
    ...common,
    remote: 'memory:beta',
    handshake: { role: 'initiator', identity: alpha, name: 'alpha', checkTrust: trustAll },
    heartbeatIntervalMs: options.heartbeatIntervalMs,
  });
  const responder =
    options.responder === false
      ? (undefined as unknown as Connection)
      : new Connection(sockets.server, { ...common, remote: 'memory:alpha', handshake: { role: 'responder', identity: beta, name: 'beta', checkTrust: trustAll } });
  const states = { initiator: [initiator.state], responder: responder === undefined ? [] : [responder.state] };
  const track = (c: Connection | undefined, socket: WebSocket, into: ConnectionState[]): void => {
    if (c === undefined) return;
    socket.once('open', () => into.push(c.state)); // after the connection's own 'open' listener
    c.established().then(() => into.push(c.state), () => undefined);
    c.on('close', () => into.push(c.state));
    void c.socketClosed.then(() => into.push(c.state));
  };
  track(initiator, sockets.client, states.initiator);
  track(options.responder === false ? undefined : responder, sockets.server, states.responder);
  return { sockets, initiator, responder, clock, states, open: sockets.open };
}

/** A connection facing a bare ws end the test drives by hand (no Connection on the other side). */
function facingRawPeer(checkTrust = trustAll): { connection: Connection; peer: WebSocket; clock: FakeClock; sockets: SocketPair } {
  const clock = new FakeClock();
  const sockets = socketPair();
  const connection = new Connection(sockets.client, {
    remote: 'memory:raw',
    handshake: { role: 'initiator', identity: alpha, name: 'alpha', checkTrust },
    handshakeTimeoutMs: 10_000,
    log: captureLog().log,
    clock,
  });
  return { connection, peer: sockets.server, clock, sockets };
}

const closeOf = (c: Connection): Promise<ConnectionClose> => new Promise((resolve) => c.once('close', resolve));
const nextFrame = (c: Connection): Promise<Frame> => new Promise((resolve) => c.once('frame', resolve));


describe('Connection: states', () => {
  it('goes authenticating → open → closing → closed on both sides, and says who closed', async () => {
    const { initiator, responder, states } = connect();
    expect(initiator.state).toBe('authenticating');
    const [a, b] = await Promise.all([initiator.established(), responder.established()]);
    expect(a.peerKey.fingerprint).toBe(beta.publicKey.fingerprint);
    expect(b.peerKey.fingerprint).toBe(alpha.publicKey.fingerprint);
    expect([initiator.state, responder.state]).toEqual(['open', 'open']);
    const seen = closeOf(responder);
    initiator.close(CloseCode.goingAway, 'bye');
    expect(initiator.state).toBe('closing');
    expect(initiator.isOpen).toBe(false);
    expect(await seen).toEqual({ code: CloseCode.goingAway, reason: 'bye', local: false });
    await Promise.all([initiator.socketClosed, responder.socketClosed]);
    expect(states.initiator).toEqual(['authenticating', 'open', 'closing', 'closed']);
    expect(states.responder).toEqual(['authenticating', 'open', 'closing', 'closed']);
  });

  it('goes connecting → authenticating → open → closing → closed when the socket opens after it was made', async () => {
    const { initiator, responder, states, open } = connect({ opened: false });
    expect([initiator.state, responder.state]).toEqual(['connecting', 'connecting']);
    expect(initiator.isOpen).toBe(true); // until a close begins, as callers rely on
    expect(initiator.wasOpened).toBe(false);
    open();
    expect([initiator.state, responder.state]).toEqual(['authenticating', 'authenticating']);
    await Promise.all([initiator.established(), responder.established()]);
    expect(initiator.wasOpened).toBe(true);
    const seen = closeOf(initiator);
    responder.close(CloseCode.goingAway, 'done');
    expect(await seen).toEqual({ code: CloseCode.goingAway, reason: 'done', local: false });
    await Promise.all([initiator.socketClosed, responder.socketClosed]);
    expect(states.initiator).toEqual(['connecting', 'authenticating', 'open', 'closing', 'closed']);
    expect(states.responder).toEqual(['connecting', 'authenticating', 'open', 'closing', 'closed']);
  });

  it('starts connecting when the socket is not open yet, and a dial that fails closes without ever opening', async () => {
    const connection = new Connection(openSocket({ kind: 'unix', path: join(dir, 'nobody.sock') }, 5000), {
      remote: 'unix:nobody',
      handshake: { role: 'initiator', identity: alpha, name: 'alpha', checkTrust: trustAll },
      handshakeTimeoutMs: 10_000,
      log: captureLog().log,
      clock: new FakeClock(),
    });
    expect(connection.state).toBe('connecting');
    const info = await closeOf(connection);
    expect(info.reason).toMatch(/^cannot connect to unix:nobody: ENOENT/);
    expect(connection.wasOpened).toBe(false);
    await expect(connection.established()).rejects.toMatchObject({ closeCode: info.code });
    await connection.socketClosed;
    expect(connection.state).toBe('closed');
  });

  it('closes with 4004 when the handshake is not done by its deadline (on the fake clock)', async () => {
    const { initiator, clock } = connect({ responder: false, handshakeTimeoutMs: 5000 }); // nobody answers the HELLO
    const closed = closeOf(initiator);
    await clock.advance(4999);
    expect(initiator.state).toBe('authenticating');
    await clock.advance(1);
    expect(await closed).toEqual({ code: CloseCode.handshakeTimeout, reason: 'handshake not finished within 5000 ms', local: true });
    expect(initiator.state).toBe('closing');
    await expect(initiator.established()).rejects.toMatchObject({ closeCode: CloseCode.handshakeTimeout });
    await initiator.socketClosed; // the bare peer answered the close frame
    expect(initiator.state).toBe('closed');
    expect(clock.pendingTimers).toBe(0); // the close-handshake timer went with the socket
  });

  it('drops the socket when the peer does not answer its close frame within 2 s (on the fake clock)', async () => {
    const { initiator, responder, clock, sockets } = connect();
    await Promise.all([initiator.established(), responder.established()]);
    sockets.serverStream.hold(); // the peer reads nothing more: it never sees the close frame
    let gone = false;
    void initiator.socketClosed.then(() => {
      gone = true;
    });
    initiator.close(CloseCode.goingAway, 'bye');
    expect(clock.pendingDelays()).toEqual([2000]); // the only timer left, and on the fake clock
    await clock.advance(1999);
    await turns(10);
    expect(gone).toBe(false);
    expect(initiator.state).toBe('closing');
    await clock.advance(1);
    await turns(10); // the socket goes within a few turns of the event loop, not 2 s of real time
    expect(gone).toBe(true);
    expect(initiator.state).toBe('closed');
  });

  it('sends nothing but handshake messages before it is open', async () => {
    const { initiator } = connect({ responder: false });
    await expect(initiator.send(FrameType.offer, { id: 'x' })).rejects.toMatchObject({ closeCode: CloseCode.goingAway });
  });

  it('emits close once, however often close() is called, and cuts a long reason to 120 bytes on the wire', async () => {
    const { initiator, responder } = connect();
    await Promise.all([initiator.established(), responder.established()]);
    let closes = 0;
    initiator.on('close', () => closes++);
    const seen = closeOf(responder);
    const reason = 'é'.repeat(100); // 200 bytes of UTF-8
    initiator.close(CloseCode.goingAway, reason);
    initiator.close(CloseCode.protocolError, 'again');
    expect(closes).toBe(1);
    const remote = await seen;
    expect(Buffer.byteLength(remote.reason)).toBe(120);
    expect(remote.reason).toBe('é'.repeat(60));
  });
});

describe('Connection: frames', () => {
  it('carries frames both ways once open, bodies intact, up to the body limit', async () => {
    const { initiator, responder } = connect();
    await Promise.all([initiator.established(), responder.established()]);
    expect(initiator.maxBodyBytes).toBe(MAX_DATA_BODY_BYTES);
    const body = Buffer.alloc(MAX_DATA_BODY_BYTES, 7);
    const arriving = nextFrame(responder);
    await initiator.send(FrameType.data, { id: 'a', offset: 0 }, body);
    const frame = await arriving;
    expect(frame.type).toBe(FrameType.data);
    expect(frame.header).toEqual({ id: 'a', offset: 0 });
    expect(frame.body.equals(body)).toBe(true);
    const back = nextFrame(initiator);
    await responder.send(FrameType.ack, { id: 'a', status: 'applied' });
    expect((await back).header).toEqual({ id: 'a', status: 'applied' });
  });

  it('emits a frame sent the moment the peer is open only once this side is open as well', async () => {
    const { initiator, responder } = connect();
    let established = false;
    void initiator.established().then(() => {
      established = true;
    });
    const arriving = new Promise<{ state: ConnectionState; established: boolean }>((resolve) =>
      initiator.once('frame', () => resolve({ state: initiator.state, established })),
    );
    await responder.established();
    await responder.send(FrameType.offer, { id: 'first' });
    expect(await arriving).toEqual({ state: 'open', established: true });
  });

  it('emits nothing that arrives during the handshake: it waits its turn, and a frame that is not part of the handshake closes with 4009', async () => {
    let trust!: () => void;
    const trusted = new Promise<void>((resolve) => {
      trust = resolve;
    });
    const { connection, peer, sockets } = facingRawPeer(async () => {
      await trusted; // the HELLO step is held here while more arrives
      return { name: 'beta' };
    });
    const frames: Frame[] = [];
    connection.on('frame', (frame) => frames.push(frame));
    let arrived = 0;
    sockets.client.on('message', () => arrived++);
    const handshake = new Handshake({ role: 'responder', identity: beta, name: 'beta', checkTrust: trustAll });
    peer.send(handshake.hello());
    peer.send(encodeFrame(FrameType.offer, { id: 'early' }));
    await untilTrue(() => arrived === 2 && connection.claimedPeer !== undefined, 'both messages and the claim');
    expect(connection.claimedPeer?.fingerprint).toBe(beta.publicKey.fingerprint);
    expect(connection.state).toBe('authenticating');
    const closed = closeOf(connection);
    trust();
    expect(await closed).toEqual({ code: CloseCode.notAuthenticated, reason: 'a data frame before the handshake finished', local: true });
    expect(frames).toEqual([]);
    await expect(connection.established()).rejects.toMatchObject({ closeCode: CloseCode.notAuthenticated });
  });

  it('closes with 4005 on a text message', async () => {
    const { connection, peer } = facingRawPeer();
    const closed = closeOf(connection);
    peer.send('hello');
    expect(await closed).toEqual({ code: CloseCode.malformedFrame, reason: 'text messages are not part of the protocol', local: true });
  });

  it('closes with 4005 on a second handshake after it is open', async () => {
    const { initiator, responder } = connect();
    await Promise.all([initiator.established(), responder.established()]);
    const closed = closeOf(responder);
    await initiator.send(FrameType.hello, { v: 1 });
    expect(await closed).toMatchObject({ code: CloseCode.malformedFrame, reason: 'a second handshake on one connection', local: true });
  });

  it('makes send() wait while more than the high-water mark is queued, and go on when the peer reads again', async () => {
    const { initiator, responder, sockets } = connect();
    await Promise.all([initiator.established(), responder.established()]);
    sockets.serverStream.hold(); // the peer stops reading
    const body = Buffer.alloc(MAX_DATA_BODY_BYTES, 1);
    let sent = 0;
    let waiting: Promise<void> | undefined;
    for (let i = 0; i < 20 && waiting === undefined; i++) {
      let done = false;
      const send = initiator.send(FrameType.data, { id: 'x', offset: i }, body).then(() => {
        done = true;
      });
      await turns(1);
      if (done) sent++;
      else waiting = send;
    }
    expect(waiting).toBeDefined();
    expect(sent).toBeGreaterThanOrEqual(4); // about 4 MiB in flight before it waits
    expect(sent).toBeLessThanOrEqual(6);
    let frames = 0;
    responder.on('frame', () => frames++);
    sockets.serverStream.release();
    await waiting;
    await untilTrue(() => frames === sent + 1, 'every frame read');
  });

  it('wakes a sender waiting for room when the connection closes, with a rejection', async () => {
    const { initiator, responder, sockets } = connect();
    await Promise.all([initiator.established(), responder.established()]);
    sockets.serverStream.hold();
    const body = Buffer.alloc(MAX_DATA_BODY_BYTES, 1);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 8; i++) sends.push(initiator.send(FrameType.data, { id: 'x', offset: i }, body));
    initiator.close(CloseCode.goingAway, 'bye');
    const outcomes = await Promise.allSettled(sends);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toMatchObject({ closeCode: CloseCode.goingAway, reason: 'connection closed' });
    sockets.serverStream.release();
  });
});

describe('Connection: heartbeat', () => {
  it('measures the round trip from a ping to its pong on the clock', async () => {
    const { initiator, responder, clock, sockets } = connect({ heartbeatIntervalMs: 1000 });
    await Promise.all([initiator.established(), responder.established()]);
    await untilTrue(() => initiator.rttMs !== undefined, 'the first rtt'); // the ping sent at open, answered at once
    expect(initiator.rttMs).toBe(0);
    sockets.serverStream.hold(); // the peer reads nothing for a while
    await clock.advance(1000); // the next ping goes out
    await clock.advance(300);
    sockets.serverStream.release(); // it reads the ping and answers
    await untilTrue(() => initiator.rttMs !== 0, 'a second rtt');
    expect(initiator.rttMs).toBe(300);
    expect(initiator.isOpen).toBe(true);
  });

  it('closes with 4010 and drops the socket when a ping goes unanswered for a whole interval', async () => {
    const { initiator, responder, clock, sockets } = connect({ heartbeatIntervalMs: 1000 });
    await Promise.all([initiator.established(), responder.established()]);
    await untilTrue(() => initiator.rttMs !== undefined, 'the first rtt');
    sockets.serverStream.hold(); // the peer vanished: it reads nothing, answers nothing
    const closed = closeOf(initiator);
    await clock.advance(1000); // a ping goes out and is not answered…
    await clock.advance(999);
    expect(initiator.isOpen).toBe(true);
    await clock.advance(1); // …for a whole interval
    expect(await closed).toMatchObject({ code: CloseCode.heartbeatTimeout, local: true });
    await initiator.socketClosed; // terminated, not waiting for a close handshake the peer will never answer
    expect(initiator.state).toBe('closed');
  });
});
