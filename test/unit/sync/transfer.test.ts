import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PeerChannel } from '../../../src/sync/ports.js';
import { FrameType } from '../../../src/wire/frame.js';
import { randomBytes } from '../../../src/secure/sodium.js';
import { assembleClip, type Clip, type ClipMeta } from '../../../src/sync/clip.js';
import { ClipReader, MemorySink } from '../../../src/sync/clip-body.js';
import { Incoming } from '../../../src/sync/transfer/incoming.js';
import { Outgoing } from '../../../src/sync/transfer/outgoing.js';
import { TransferBoard } from '../../../src/sync/transfer-board.js';

/** What the transfer classes use of a channel: `send`, `isOpen` and the frame size. Frames are recorded. */
class RecordingConnection {
  constructor(readonly maxBodyBytes = 1024 * 1024) {}
  readonly frames: { type: number; header: Record<string, unknown>; body?: Buffer }[] = [];
  isOpen = true;
  async send(type: number, header: Record<string, unknown>, body?: Buffer): Promise<void> {
    if (!this.isOpen) throw new Error('closed');
    this.frames.push({ type, header, body: body === undefined ? undefined : Buffer.from(body) });
  }
  asConnection(): PeerChannel {
    return this as unknown as PeerChannel;
  }
  dataBytes(): number {
    return this.frames.filter((f) => f.type === FrameType.data).reduce((n, f) => n + (f.body?.length ?? 0), 0);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cs-transfer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clipOf(data: Buffer): Clip {
  return { ...assembleClip([{ mime: 'application/octet-stream', data }]), ts: 1, origin: 'o' };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ClipReader', () => {
  it('reads a file in chunks from any offset, reading ahead, and matches the bytes', async () => {
    const data = randomBytes(1_000_003);
    const file = join(dir, 'clip.bin');
    writeFileSync(file, data);
    const reader = new ClipReader({ file }, data.length);
    const parts: Buffer[] = [];
    const chunk = 65_536;
    for (let at = 300_000; at < data.length; at += chunk) {
      const length = Math.min(chunk, data.length - at);
      const next = at + length;
      parts.push(Buffer.from(await reader.read(at, length, { offset: next, length: Math.min(chunk, data.length - next) })));
    }
    await reader.close();
    expect(Buffer.concat(parts).equals(data.subarray(300_000))).toBe(true);
  });

  it('says the spool file is short rather than sending garbage', async () => {
    const file = join(dir, 'short.bin');
    writeFileSync(file, Buffer.alloc(10));
    const reader = new ClipReader({ file }, 100);
    await expect(reader.read(0, 100)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_SPOOL' });
    await reader.close();
  });
});

describe('Outgoing: the credit window', () => {
  it('never has more than the granted window in flight, and goes on when granted more', async () => {
    const data = randomBytes(10 * 1024);
    const conn = new RecordingConnection(1024);
    const outgoing = new Outgoing(clipOf(data), conn.asConnection());
    const sent: number[] = [];
    const done = outgoing.stream(0, 3000, (n) => sent.push(n));
    await settle();
    expect(conn.dataBytes()).toBe(2048); // a third 1 KiB chunk would pass 3000
    outgoing.grant(2048);
    await settle();
    expect(conn.dataBytes()).toBe(4096);
    outgoing.grant(1_000_000);
    expect(await done).toBe(true);
    expect(conn.dataBytes()).toBe(data.length);
    expect(conn.frames.at(-1)?.type).toBe(FrameType.end);
    const body = Buffer.concat(conn.frames.filter((f) => f.type === FrameType.data).map((f) => f.body!));
    expect(body.equals(data)).toBe(true);
  });

  it('sends frames no larger than a window smaller than its chunk size, instead of waiting for credit forever', async () => {
    const data = randomBytes(10_000);
    const conn = new RecordingConnection(4096);
    const outgoing = new Outgoing(clipOf(data), conn.asConnection());
    const done = outgoing.stream(0, 1500, () => undefined);
    await settle();
    expect(conn.dataBytes()).toBe(1500);
    for (let granted = 1500; granted < data.length; granted += 1500) {
      outgoing.grant(1500);
      await settle();
    }
    expect(await done).toBe(true);
    const bodies = conn.frames.filter((f) => f.type === FrameType.data).map((f) => f.body!);
    expect(Math.max(...bodies.map((b) => b.length))).toBe(1500);
    expect(Buffer.concat(bodies).equals(data)).toBe(true);
  });

  it('starts at the offset the receiver asks for (resume)', async () => {
    const data = randomBytes(5000);
    const conn = new RecordingConnection(1024);
    expect(await new Outgoing(clipOf(data), conn.asConnection()).stream(3000, 1 << 20, () => undefined)).toBe(true);
    const first = conn.frames.find((f) => f.type === FrameType.data)!;
    expect(first.header['offset']).toBe(3000);
    expect(conn.dataBytes()).toBe(2000);
  });

  it('stops without END when cancelled while waiting for credit', async () => {
    const conn = new RecordingConnection(1024);
    const outgoing = new Outgoing(clipOf(randomBytes(4096)), conn.asConnection());
    const done = outgoing.stream(0, 1024, () => undefined);
    await settle();
    outgoing.cancel();
    expect(await done).toBe(false);
    expect(conn.frames.some((f) => f.type === FrameType.end)).toBe(false);
  });
});

describe('Incoming: ordered writes, credit, verification', () => {
  function setup(data: Buffer, window = 4096) {
    const { id, formats, mime, size, leaves } = assembleClip([{ mime: 'application/octet-stream', data }]);
    const meta: ClipMeta = { id, formats, mime, size, ts: 1, origin: 'o', leaves };
    const conn = new RecordingConnection();
    const board = new TransferBoard(() => 0);
    const handle = board.start({ id: meta.id, direction: 'receive', peer: 'p', name: 'n', mime: meta.mime, total: meta.size, resumedFrom: 0 });
    const errors: unknown[] = [];
    const incoming = new Incoming(meta, new MemorySink(meta), conn.asConnection(), window, handle, (e) => errors.push(e));
    return { meta, conn, incoming, errors, board };
  }

  it('asks for the clip with its window, grants credit as chunks are stored, and verifies at the end', async () => {
    const data = randomBytes(8192);
    const { conn, incoming, board } = setup(data);
    await incoming.request();
    expect(conn.frames[0]).toMatchObject({ type: FrameType.want, header: { offset: 0, window: 4096 } });
    // As a sender would: no further than the window, then more as CREDIT comes back.
    for (let at = 0; at < data.length; at += 1024) {
      incoming.data(at, data.subarray(at, at + 1024));
      await settle();
    }
    const body = await incoming.finish();
    expect(body.data?.equals(data)).toBe(true);
    const credits = conn.frames.filter((f) => f.type === FrameType.credit).map((f) => f.header['bytes'] as number);
    expect(credits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(8192 - 1024);
    expect(board.list()[0]?.bytes).toBe(8192);
  });

  it('refuses DATA beyond the window it granted (a sender ignoring its credit)', () => {
    const data = randomBytes(8192);
    const { incoming } = setup(data, 4096);
    for (let at = 0; at < 4096; at += 1024) incoming.data(at, data.subarray(at, at + 1024));
    expect(() => incoming.data(4096, data.subarray(4096, 5120))).toThrow(/beyond the window/);
  });

  it('refuses a DATA frame at the wrong offset or past the size as malformed', () => {
    const data = randomBytes(2048);
    const { incoming } = setup(data);
    expect(() => incoming.data(1024, data.subarray(0, 1024))).toThrow(/expected 0/);
    incoming.data(0, data.subarray(0, 1024));
    expect(() => incoming.data(1024, Buffer.alloc(2048))).toThrow(/past the announced size/);
  });

  it('rejects a clip whose bytes do not match its id, keeping nothing', async () => {
    const data = randomBytes(2048);
    const { incoming } = setup(data);
    const wrong = Buffer.from(data);
    wrong[5]! ^= 1;
    incoming.data(0, wrong);
    await expect(incoming.finish()).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_HASH_MISMATCH' });
  });

  it('rejects a clip that ended early', async () => {
    const data = randomBytes(2048);
    const { incoming } = setup(data);
    incoming.data(0, data.subarray(0, 1000));
    await expect(incoming.finish()).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_TRANSFER' });
  });
});

describe('TransferBoard', () => {
  it('reports rate and ETA from the clock, and forgets a transfer once it ends', () => {
    let now = 0;
    const board = new TransferBoard(() => now);
    const events: string[] = [];
    board.on('end', (t, outcome) => events.push(`${t.id}:${outcome}`));
    const handle = board.start({ id: 'c', direction: 'send', peer: 'p', name: 'n', mime: 'm', total: 4000, resumedFrom: 1000 });
    now = 1000;
    handle.advance(1000);
    const info = board.forPeer('p')[0]!;
    expect(info).toMatchObject({ bytes: 2000, total: 4000, rate: 1000, etaMs: 2000, resumedFrom: 1000 });
    handle.end('completed');
    expect(board.list()).toEqual([]);
    expect(events).toEqual(['c:completed']);
  });
});
