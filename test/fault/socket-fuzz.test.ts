import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Frame, PROTOCOL_VERSION, encodeFrame, helloFrame, keyBlobOf } from '../helpers/clipsync-frames.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { FaultWorld, expectAlive, expectSync, type HomeInfo } from '../helpers/fault-fixture.js';
import { Prng, seedFrom } from '../helpers/prng.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { WsOpcode, buildWsFrame, closePayload, parseWsFrames, upgradeRequest } from '../helpers/ws-codec.js';

/**
 * Fault test 7: a seeded fuzzer below the WebSocket library. A raw TCP client upgrades to
 * WebSocket, then writes random frames (valid and not) and garbage in random-size pieces. The
 * listener must close every connection within a bound, never crash or hit an internal error,
 * and keep syncing. The seed is printed; CLIPSYNC_FUZZ_SEED=N replays a run.
 */

const ITERATIONS = 100;
const CONCURRENCY = 8;
const HANDSHAKE_TIMEOUT_MS = 1500;
/** How long the listener may take to close one connection: its deadline, its 2 s forced close, slack for a slow machine. */
const CLOSE_BOUND_MS = HANDSHAKE_TIMEOUT_MS + 2000 + 20_000;
const SEED = seedFrom('CLIPSYNC_FUZZ_SEED');

const b64 = (rng: Prng, n: number): string => rng.bytes(n).toString('base64');

/** A header value of a random JSON type, or a plausible one. */
function randomValue(rng: Prng, plausible: unknown): unknown {
  switch (rng.int(0, 9)) {
    case 0:
      return rng.int(-5, 1e6);
    case 1:
      return null;
    case 2:
      return [plausible];
    case 3:
      return { v: plausible };
    case 4:
      return 'x'.repeat(rng.int(0, 3000));
    case 5:
      return rng.bytes(rng.int(0, 40)).toString('latin1');
    default:
      return plausible;
  }
}

/** A clipsync-shaped message: a known (or random) type, a HELLO/AUTH/OFFER-like header, mutated. */
function clipsyncMessage(rng: Prng, trustedBlob: string): Buffer {
  const type = rng.chance(0.9) ? rng.pick([Frame.hello, Frame.hello, Frame.auth, Frame.auth, Frame.offer, Frame.want, Frame.data, Frame.end, Frame.ack, Frame.cancel]) : rng.int(0, 255);
  const size = rng.int(0, 1000);
  const header: Record<string, unknown> = {
    protocol: rng.chance(0.9) ? 'clipsync' : 'clipsink',
    version: rng.chance(0.9) ? PROTOCOL_VERSION : rng.int(0, 3),
    name: 'fuzz',
    key: rng.pick([trustedBlob, trustedBlob, b64(rng, 51), 'not base64!', '']),
    eph: b64(rng, rng.pick([32, 32, 32, 31, 33, 0])),
    nonce: b64(rng, rng.pick([32, 32, 32, 16])),
    alg: rng.pick(['ssh-ed25519', 'rsa-sha2-512', 'ssh-rsa', 'none']),
    sig: b64(rng, rng.pick([64, 64, 0, 300])),
    id: rng.bytes(32).toString('hex'),
    formats: [{ mime: 'text/plain', size }],
    size,
    ts: Date.now(),
    offset: 0,
    status: 'applied',
  };
  for (const key of Object.keys(header)) {
    if (rng.chance(0.08)) delete header[key];
    else if (rng.chance(0.08)) header[key] = randomValue(rng, header[key]);
  }
  let json: Buffer = Buffer.from(JSON.stringify(header), 'utf8');
  if (rng.chance(0.1)) json = rng.bytes(rng.int(0, 200)); // not JSON
  if (rng.chance(0.05)) json = Buffer.from(rng.pick(['[]', 'null', '"s"', '42']));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(type, 0);
  prefix.writeUInt32BE(rng.chance(0.85) ? json.length : rng.int(0, 0xffffffff), 1);
  return Buffer.concat([prefix, json, rng.bytes(rng.int(0, 64))]);
}

/** One WebSocket frame from the client, usually valid, sometimes not (no mask, RSV bits, a lying length). */
function randomWsFrame(rng: Prng, payload: Buffer | undefined): Buffer {
  const opcode =
    payload !== undefined
      ? WsOpcode.binary
      : rng.pick([WsOpcode.binary, WsOpcode.binary, WsOpcode.binary, WsOpcode.text, WsOpcode.ping, WsOpcode.pong, WsOpcode.continuation, WsOpcode.close, 0x3, 0xb]);
  let body = payload ?? rng.bytes(rng.pick([rng.int(0, 16), rng.int(0, 300), rng.int(0, 4000), rng.int(8000, 10_000)]));
  if (opcode === WsOpcode.close && rng.chance(0.7)) {
    const code = Buffer.alloc(2);
    code.writeUInt16BE(rng.pick([1000, 1001, 1002, 1005, 999, 4005, 5000]));
    body = Buffer.concat([code, rng.bytes(rng.int(0, 20))]);
  }
  const lie = rng.chance(0.04) ? rng.pick([body.length + rng.int(1, 100), 2 ** 40, 5 * 1024 * 1024]) : undefined;
  return buildWsFrame({
    opcode,
    payload: body,
    fin: rng.chance(0.92),
    rsv: rng.chance(0.04) ? rng.int(1, 7) : 0,
    mask: rng.chance(0.93) ? rng.bytes(4) : null,
    declaredLength: lie,
  });
}

/** What the fuzz client writes after the upgrade, and a label for the summary. */
function fuzzInput(rng: Prng, trustedBlob: string): { kind: string; bytes: Buffer } {
  const kind = rng.pick(['garbage', 'frames', 'clipsync', 'hello-then-junk', 'mixed'] as const);
  const frames = (n: number, clipsync: number): Buffer[] =>
    Array.from({ length: n }, () => randomWsFrame(rng, rng.chance(clipsync) ? clipsyncMessage(rng, trustedBlob) : undefined));
  switch (kind) {
    case 'garbage':
      return { kind, bytes: rng.bytes(rng.int(1, 2048)) };
    case 'frames':
      return { kind, bytes: Buffer.concat(frames(rng.int(1, 4), 0)) };
    case 'clipsync':
      return { kind, bytes: Buffer.concat(frames(rng.int(1, 3), 0.9)) };
    case 'hello-then-junk': {
      // A HELLO the listener accepts (a trusted key), so what follows reaches the AUTH stage.
      const hello = buildWsFrame({ opcode: WsOpcode.binary, payload: helloFrame(trustedBlob, { eph: b64(rng, 32), nonce: b64(rng, 32) }), mask: rng.bytes(4) });
      // Often a well-formed AUTH next, whose signature cannot verify (4002).
      const auth = rng.chance(0.5)
        ? [buildWsFrame({ opcode: WsOpcode.binary, payload: encodeFrame(Frame.auth, { alg: 'ssh-ed25519', sig: b64(rng, 64), ss: b64(rng, 24) }), mask: rng.bytes(4) })]
        : [];
      return { kind, bytes: Buffer.concat([hello, ...auth, ...frames(rng.int(1, 3), 0.7)]) };
    }
    case 'mixed':
      return { kind, bytes: Buffer.concat([...frames(rng.int(1, 3), 0.5), rng.bytes(rng.int(1, 512))]) };
  }
}

interface Outcome {
  kind: string;
  /** The close code in the listener's close frame, if it sent one. */
  closeCode: number | undefined;
  closedInTime: boolean;
  wrote: number;
}

/**
 * Upgrades a raw TCP connection to WebSocket, writes `input` in pieces of 1..N bytes, and
 * waits for the listener to close the connection. A close frame from the listener is
 * answered the way a WebSocket client would, so a clean close needs no timer on its side.
 */
async function attack(port: number, rng: Prng, input: Buffer): Promise<Outcome & { upgraded: boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  socket.on('error', () => undefined); // a reset is one way of being closed
  let head: Buffer = Buffer.alloc(0);
  let upgraded = false;
  let status = '';
  let frames: Buffer = Buffer.alloc(0);
  let closeCode: number | undefined;
  let writing = true;
  let answered = false;
  let onUpgrade: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const answerClose = (): void => {
    if (answered || closeCode === undefined || socket.destroyed) return;
    answered = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(closeCode >= 1000 && closeCode !== 1005 && closeCode !== 1006 ? closeCode : 1000);
    socket.end(buildWsFrame({ opcode: WsOpcode.close, payload, mask: rng.bytes(4) }));
  };
  socket.on('data', (data: Buffer) => {
    if (!upgraded) {
      head = Buffer.concat([head, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      status = head.toString('latin1', 0, head.indexOf('\r\n'));
      upgraded = true;
      frames = head.subarray(end + 4);
      onUpgrade();
    } else {
      frames = Buffer.concat([frames, data]);
    }
    const parsed = parseWsFrames(frames);
    frames = parsed.rest;
    for (const frame of parsed.frames) {
      if (frame.opcode === WsOpcode.close && closeCode === undefined) closeCode = closePayload(frame.payload).code;
    }
    if (!writing) answerClose();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('fuzz client could not connect')));
  });
  const upgradedIn = new Promise<void>((resolve) => (onUpgrade = resolve));
  socket.write(upgradeRequest('127.0.0.1', port));
  await Promise.race([upgradedIn, closed]);
  if (!status.startsWith('HTTP/1.1 101')) {
    socket.destroy();
    return { kind: '', closeCode, closedInTime: false, wrote: 0, upgraded: false };
  }

  // Write in random pieces; usually stop once the listener has closed, sometimes keep going.
  const keepGoing = rng.chance(0.3);
  let maxPiece = rng.pick([1, 3, 16, 200, 2048, 65_536]);
  maxPiece = Math.max(maxPiece, Math.ceil(input.length / 2000));
  let wrote = 0;
  while (wrote < input.length && !socket.destroyed && !socket.writableEnded) {
    if (closeCode !== undefined && !keepGoing) break;
    const piece = input.subarray(wrote, wrote + rng.int(1, maxPiece));
    await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
    wrote += piece.length;
    if (rng.chance(0.1)) await new Promise((resolve) => setImmediate(resolve));
  }
  writing = false;
  answerClose();

  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    closed.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_BOUND_MS))),
  ]);
  clearTimeout(timer);
  socket.destroy();
  return { kind: '', closeCode, closedInTime: inTime, wrote, upgraded: true };
}

describe('socket-level fuzzing of the listener', () => {
  const world = new FaultWorld();
  let homeB: HomeInfo;
  let a: TestDaemon;
  let b: TestDaemon;
  let portA: number;

  beforeAll(async () => {
    const homeA = await world.home('alpha', { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
    homeB = await world.home('beta');
    await world.trustAll(homeA, homeB);
    a = await world.start(homeA);
    const addressA = await a.tcpAddress();
    portA = Number(/:(\d+)$/.exec(addressA)![1]);
    const proxy = await TcpProxy.start(addressA);
    world.onCleanup(() => proxy.close());
    b = await world.start(homeB, { listen: [], peers: [proxy.address] });
    await a.waitConnected(1);
    await b.waitConnected(1);
  });
  afterAll(() => world.cleanup());

  it(`closes every fuzzed connection cleanly and keeps syncing (seed ${SEED})`, { timeout: 240_000 }, async () => {
    console.log(`socket fuzz seed ${SEED}: rerun with CLIPSYNC_FUZZ_SEED=${SEED}`);
    const trustedBlob = keyBlobOf(homeB.publicKey);
    const outcomes: (Outcome & { iteration: number })[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ITERATIONS) {
        const iteration = next++;
        const rng = Prng.derive(SEED, iteration);
        const input = fuzzInput(rng, trustedBlob);
        const outcome = await attack(portA, rng, input.bytes);
        expect(outcome.upgraded, `iteration ${iteration} (seed ${SEED}): the upgrade was refused`).toBe(true);
        outcomes.push({ ...outcome, kind: input.kind, iteration });
        expect(a.proc.exitCode, `alpha exited during iteration ${iteration} (seed ${SEED}):\n${a.stderrText}`).toBeNull();
        if (iteration % 25 === 24) await expectAlive(a);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const summary: Record<string, number> = {};
    for (const o of outcomes) summary[`${o.kind}:${o.closeCode ?? 'no close frame'}`] = (summary[`${o.kind}:${o.closeCode ?? 'no close frame'}`] ?? 0) + 1;
    console.log(`socket fuzz seed ${SEED} outcomes: ${JSON.stringify(summary)}`);

    expect(outcomes).toHaveLength(ITERATIONS);
    const stuck = outcomes.filter((o) => !o.closedInTime);
    expect(stuck.map((o) => `#${o.iteration} ${o.kind}`), `connections alpha did not close within ${CLOSE_BOUND_MS} ms (seed ${SEED})`).toEqual([]);
    // An internal error (4000) or an error-level log line means a frame reached code that threw.
    expect(outcomes.filter((o) => o.closeCode === 4000).map((o) => o.iteration), `seed ${SEED}`).toEqual([]);

    await expectAlive(a);
    expect((await a.peers()).filter((p) => p.state === 'connected').map((p) => p.fingerprint)).toEqual([homeB.fingerprint]);
    await expectSync(b, [a], Buffer.from(`beta after fuzz ${SEED}`));
    await expectSync(a, [b], Buffer.from(`alpha after fuzz ${SEED}`));
    expect(a.logs.filter((l) => l.level >= 50), `error-level log lines (seed ${SEED})`).toEqual([]);
  });
});
