import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDaemon } from '../helpers/daemon.js';
import { FaultWorld, expectSync } from '../helpers/fault-fixture.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { parseWsFrames } from '../helpers/ws-codec.js';

/**
 * Fault test 1: what a passive eavesdropper on the TCP connection between two real daemons
 * sees. Every byte through a recording TCP proxy is searched (raw, and with the client's
 * WebSocket masking removed) for the clips in plaintext and in base64.
 */

const WINDOW = 32;

/**
 * Every 32-byte block of `plain` (at 32-byte steps, so any leaked run of 63 bytes or more
 * contains one), and every 32-character block of its base64 in all three alignments, as
 * latin1 strings: what an eavesdropper would find if the clip crossed the wire readable.
 */
function needlesOf(plain: Buffer): Set<string> {
  const needles = new Set<string>();
  for (let at = 0; at + WINDOW <= plain.length; at += WINDOW) needles.add(plain.toString('latin1', at, at + WINDOW));
  for (let shift = 0; shift < 3; shift++) {
    const b64 = plain.subarray(shift).toString('base64');
    // The last quantum changes with what follows it; stay clear of it.
    for (let at = 0; at + WINDOW <= b64.length - 4; at += WINDOW) needles.add(b64.slice(at, at + WINDOW));
  }
  return needles;
}

/** Offsets in `haystack` where a needle starts (every window is checked). */
function findNeedles(haystack: Buffer, needles: Set<string>): number[] {
  const text = haystack.toString('latin1');
  const hits: number[] = [];
  for (let i = 0; i + WINDOW <= text.length; i++) if (needles.has(text.slice(i, i + WINDOW))) hits.push(i);
  return hits;
}

/** The WebSocket payloads inside one direction of one captured TCP connection, unmasked. */
function wsPayloads(stream: Buffer): Buffer {
  const headerEnd = stream.indexOf('\r\n\r\n');
  if (headerEnd === -1) return Buffer.alloc(0);
  return Buffer.concat(parseWsFrames(stream.subarray(headerEnd + 4)).frames.map((f) => f.payload));
}

/** A distinctive text: numbered lines of random hex, so every 32-byte block is unique. */
function distinctiveText(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes; n++) {
    const line = `secret line ${String(n).padStart(5, '0')}: ${randomBytes(24).toString('hex')} the quick brown fox\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('').slice(0, bytes), 'utf8');
}

describe('an eavesdropper on the TCP connection', () => {
  const world = new FaultWorld();
  let a: TestDaemon;
  let b: TestDaemon;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const homeA = await world.home('alpha');
    const homeB = await world.home('beta');
    await world.trustAll(homeA, homeB);
    a = await world.start(homeA);
    proxy = await TcpProxy.start(await a.tcpAddress());
    world.onCleanup(() => proxy.close());
    b = await world.start(homeB, { listen: [], peers: [proxy.address] });
    await a.waitConnected(1);
    await b.waitConnected(1);
  });
  afterAll(() => world.cleanup());

  it('never sees clip plaintext, raw or base64, in either direction', async () => {
    const big = distinctiveText(100 * 1024);
    const short = Buffer.from(`short secret ${randomBytes(16).toString('hex')}`, 'utf8');
    const back = Buffer.from(`reply secret ${randomBytes(16).toString('hex')}`, 'utf8');
    await expectSync(b, [a], big);
    await expectSync(b, [a], short);
    await expectSync(a, [b], back);

    // The clips did cross this proxy: more than the big clip went toward A.
    const sessions = proxy.sessionIds();
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    const toServer = proxy.captured('toServer');
    const toClient = proxy.captured('toClient');
    expect(toServer.length).toBeGreaterThan(big.length);
    const payloadsToServer = Buffer.concat(sessions.map((id) => wsPayloads(proxy.captured('toServer', id))));
    const payloadsToClient = Buffer.concat(sessions.map((id) => wsPayloads(proxy.captured('toClient', id))));
    expect(payloadsToServer.length).toBeGreaterThan(big.length);

    // The search itself works: it finds a leaked 64-byte run and its base64.
    const needles = new Set([...needlesOf(big), ...needlesOf(short), ...needlesOf(back)]);
    const leak = big.subarray(5000, 5064);
    expect(findNeedles(Buffer.concat([randomBytes(100), leak, randomBytes(100)]), needles)).not.toEqual([]);
    expect(findNeedles(Buffer.from(`{"b":"${leak.toString('base64')}"}`), needles)).not.toEqual([]);

    // Raw bytes as captured (masked, for the client's frames) and the unmasked payloads.
    for (const [label, haystack] of Object.entries({ toServer, toClient, payloadsToServer, payloadsToClient })) {
      expect(findNeedles(haystack, needles), `plaintext blocks in ${label}`).toEqual([]);
      for (const clip of [big, short, back]) {
        expect(haystack.indexOf(clip), `whole clip in ${label}`).toBe(-1);
        expect(haystack.toString('latin1').includes(clip.toString('base64').slice(0, -4)), `base64 clip in ${label}`).toBe(false);
      }
    }
  });
});
