import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../../src/secure/sodium.js';
import { clipId, isLocal, type Clip, type ClipFormat } from '../../../src/sync/clip.js';
import type { DeliveryResult } from '../../../src/sync/delivery.js';
import { ANNOUNCED_DETAIL } from '../../../src/sync/send-side.js';
import type { SyncOptions } from '../../../src/sync/sync-engine.js';
import type { TransferOutcome } from '../../../src/sync/transfer-board.js';
import { FrameType } from '../../../src/wire/frame.js';
import { turns, untilTrue } from '../_support/event-loop.js';
import { channelPair, type MemoryChannel } from '../_support/memory-channel.js';
import { SyncNodes, connect as connectNodes, sentOfType, type Node } from '../_support/sync-nodes.js';

/*
 * Lazy clips (issue 12, docs/PROTOCOL.md §5.4): a clip over the receiver's eagerLimitBytes is
 * announced (ACK `announced`) and its bytes cross only when it is fetched. Engines over
 * in-memory channels; the bytes that crossed are counted from the DATA frames each end sent.
 */

const nodes = new SyncNodes();
afterEach(() => nodes.shutdown());

/** The receivers here fetch eagerly only up to 10 000 bytes. */
const LIMIT = 10_000;

const node = (name: string, options: Partial<SyncOptions> = {}): Node => nodes.node(name, { windowBytes: 16 * 1024, eagerLimitBytes: LIMIT, ...options });
const connect = (a: Node, b: Node): [MemoryChannel, MemoryChannel] => connectNodes(a, b, 4096);

const BINARY: (size: number) => ClipFormat[] = (size) => [{ mime: 'application/octet-stream', size }];
/** Clip bytes that crossed from this end: what an eavesdropper would count as the transfer. */
const dataBytes = (channel: MemoryChannel): number => sentOfType(channel, FrameType.data).reduce((n, f) => n + f.body.length, 0);
const acks = (channel: MemoryChannel): string[] => sentOfType(channel, FrameType.ack).map((f) => String(f.header['status']));

async function copy(n: Node, data: Buffer): Promise<{ clip: Clip; results: DeliveryResult[] }> {
  const { clip, deliveries } = await n.engine.copyLocal({ data }, BINARY(data.length), 'cli');
  return { clip, results: await Promise.all(deliveries.map((d) => d.result)) };
}

/** alpha copies `size` random bytes; beta (connected) is announced the clip. */
async function announced(size = 50_000, beta: Partial<SyncOptions> = {}) {
  const a = node('alpha');
  const b = node('beta', beta);
  const [toB, toA] = connect(a, b);
  const data = randomBytes(size);
  const { clip, results } = await copy(a, data);
  return { a, b, toB, toA, data, clip, results };
}

describe('lazy clips: a clip over eagerLimitBytes is announced', () => {
  it('is made current without its bytes (ACK announced, copy --wait delivered, no DATA), and is still written to the clipboard port', async () => {
    const { a, b, toB, toA, clip, results } = await announced();
    expect(results).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'delivered', detail: ANNOUNCED_DETAIL }]);
    expect(acks(toA)).toEqual(['announced']);
    expect(sentOfType(toA, FrameType.want)).toEqual([]);
    expect(dataBytes(toB)).toBe(0);
    const current = b.engine.currentClip()!;
    expect(current).toMatchObject({ id: clip.id, size: clip.size, formats: clip.formats, ts: clip.ts, origin: a.fingerprint, from: a.fingerprint });
    expect(isLocal(current)).toBe(false);
    // The clipboard side serves it lazily (or declines it): it must be told of it either way.
    expect(b.clipboard.writes.map((w) => ({ id: w.id, local: isLocal(w) }))).toEqual([{ id: clip.id, local: false }]);
  });

  it('moves a clip at or under the limit eagerly, as before', async () => {
    const { b, toB, toA, data, results } = await announced(LIMIT);
    expect(results).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'delivered' }]);
    expect(acks(toA)).toEqual(['applied']);
    expect(dataBytes(toB)).toBe(LIMIT);
    expect(b.engine.currentClip()?.data?.equals(data)).toBe(true);
  });
});

describe('lazy clips: fetch', () => {
  it('transfers the clip on fetch, verifies and applies it, with the transfer on the board', async () => {
    const { a, b, toB, toA, data, clip } = await announced(50_000, { spoolThresholdBytes: 1000 });
    const ended: [string, TransferOutcome][] = [];
    b.transfers.on('end', (info, outcome) => ended.push([info.direction, outcome]));
    let seenInFlight = false;
    b.transfers.on('progress', () => (seenInFlight ||= b.transfers.list().some((t) => t.id === clip.id && t.direction === 'receive')));
    const fetched = await b.engine.fetch(clip.id);
    expect(fetched).toMatchObject({ id: clip.id, file: `/spool/${clip.id}` });
    expect(b.spool.stored.get(clip.id)?.equals(data)).toBe(true);
    expect(b.engine.currentClip()).toMatchObject({ id: clip.id, file: `/spool/${clip.id}`, ts: clip.ts, origin: a.fingerprint });
    expect(b.engine.currentClip()?.from).toBeUndefined();
    expect([...b.spool.pinned]).toEqual([clip.id]);
    expect(seenInFlight).toBe(true);
    expect(ended).toEqual([['receive', 'completed']]);
    expect(sentOfType(toA, FrameType.want).map((f) => f.header)).toEqual([{ id: clip.id, offset: 0, window: 16 * 1024 }]);
    expect(dataBytes(toB)).toBe(data.length);
    await untilTrue(() => a.transfers.list().length === 0, 'the send settled by the ACK');
    expect(acks(toA)).toEqual(['announced', 'applied']);
    // Written to the clipboard port again, now with its body (same id).
    expect(b.clipboard.writes.map(isLocal)).toEqual([false, true]);
    // Fetching a clip held here already is immediate and moves nothing.
    await expect(b.engine.fetch(clip.id)).resolves.toMatchObject({ id: clip.id });
    expect(dataBytes(toB)).toBe(data.length);
  });

  it('shares one transfer between concurrent fetches of the same clip', async () => {
    const { b, toB, toA, data, clip } = await announced();
    const [first, second] = await Promise.all([b.engine.fetch(clip.id), b.engine.fetch(clip.id)]);
    expect(first.data?.equals(data)).toBe(true);
    expect(second).toBe(first);
    expect(sentOfType(toA, FrameType.want)).toHaveLength(1);
    expect(dataBytes(toB)).toBe(data.length);
  });

  it('rejects, naming the peer that holds the clip, when that peer is not connected', async () => {
    const { b, toB, clip } = await announced();
    toB.cut();
    await turns();
    await expect(b.engine.fetch(clip.id)).rejects.toMatchObject({
      code: 'CLIPSYNC_ERR_NOT_FETCHED',
      message: expect.stringMatching(/still on alpha \(SHA256:alpha\), which is not connected/),
      hint: expect.stringContaining('connect alpha'),
    });
    expect(isLocal(b.engine.currentClip()!)).toBe(false);
  });

  it('rejects when a byte is corrupted on the way, and applies nothing', async () => {
    const { b, toB, toA, clip } = await announced();
    let flipped = false;
    toB.tap = (frame) => {
      if (frame.type !== FrameType.data || flipped) return frame;
      flipped = true;
      const body = Buffer.from(frame.body);
      body[body.length >> 1]! ^= 0x01;
      return { ...frame, body };
    };
    await expect(b.engine.fetch(clip.id)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_NOT_FETCHED', message: expect.stringContaining('content hash mismatch') });
    expect(b.engine.currentClip()).toMatchObject({ id: clip.id, from: 'SHA256:alpha' });
    expect(isLocal(b.engine.currentClip()!)).toBe(false);
    expect(b.clipboard.writes).toHaveLength(1); // only the announcement
    await untilTrue(() => acks(toA).length === 2, 'the rejection');
    expect(acks(toA)).toEqual(['announced', 'rejected']);
  });

  it('rejects when the peer drops mid-transfer; a later fetch resumes from what arrived', async () => {
    const { a, b, toB, data, clip } = await announced(60_000);
    const fetching = b.engine.fetch(clip.id);
    await untilTrue(() => (b.transfers.list()[0]?.bytes ?? 0) >= 8192, 'part of the clip stored');
    toB.cut();
    await expect(fetching).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_NOT_FETCHED', message: expect.stringContaining('disconnected') });
    expect(isLocal(b.engine.currentClip()!)).toBe(false);
    const [again, againA] = connect(a, b);
    await untilTrue(() => acks(againA).length === 1, 'the re-offer answered');
    expect(acks(againA)).toEqual(['announced']); // still only announced here: nothing moves until pasted
    const fetched = await b.engine.fetch(clip.id);
    expect(fetched.data?.equals(data)).toBe(true);
    const want = sentOfType(againA, FrameType.want)[0]!;
    expect(want.header['offset']).toBeGreaterThan(0);
    expect(dataBytes(again)).toBe(data.length - Number(want.header['offset']));
  });

  it('a paste of the announced clip never drops a newer clip on its way from the same peer', async () => {
    const { a, b } = await announced();
    const newer = Buffer.alloc(9_000, 3); // under the limit: it moves at once, in several frames
    const sending = a.engine.copyLocal({ data: newer }, BINARY(newer.length), 'cli');
    await untilTrue(() => b.transfers.list().some((t) => t.direction === 'receive'), 'the newer clip on its way');
    const announcedId = b.engine.currentClip()!.id;
    await expect(b.engine.fetch(announcedId)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_NOT_FETCHED', message: expect.stringContaining('newer clip') });
    const [result] = await Promise.all((await sending).deliveries.map((d) => d.result));
    expect(result!.status).toBe('delivered');
    await untilTrue(() => b.engine.currentClip()?.data?.equals(newer) === true, 'the newer clip applied');
  });

  it('still gives a paste the fetched clip when something newer became current meanwhile, without applying it', async () => {
    const { b, data, clip } = await announced();
    const fetching = b.engine.fetch(clip.id);
    const newer = await copy(b, Buffer.from('copied on beta while fetching'));
    const fetched = await fetching;
    expect(fetched.data?.equals(data)).toBe(true);
    expect(b.engine.currentClip()?.id).toBe(newer.clip.id);
  });
});

describe('lazy clips: the other daemons', () => {
  it('never offers an announced clip to a third peer', async () => {
    const { b, clip } = await announced();
    const c = node('gamma');
    const [toC] = connect(b, c);
    await turns(10);
    expect(sentOfType(toC, FrameType.offer)).toEqual([]);
    expect(c.engine.currentClip()).toBeUndefined();
    expect(b.engine.currentClip()?.id).toBe(clip.id);
  });

  it('the sender streams its current clip on a WANT with no OFFER outstanding, and answers CANCEL for an unknown id', async () => {
    const a = node('alpha');
    const data = randomBytes(30_000);
    const { clip } = await copy(a, data);
    const [toRaw, raw] = channelPair(4096);
    a.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toRaw });
    await untilTrue(() => sentOfType(toRaw, FrameType.offer).length === 1, 'the offer on connect');
    // A lazy receiver: the offer is only announced, which ends it on alpha's side.
    await raw.send(FrameType.ack, { id: clip.id, status: 'announced' });
    await turns();
    const unknown = 'ab'.repeat(32);
    await raw.send(FrameType.want, { id: unknown, offset: 0, window: 1 << 20 });
    await untilTrue(() => sentOfType(toRaw, FrameType.cancel).length === 1, 'a CANCEL');
    expect(sentOfType(toRaw, FrameType.cancel)[0]!.header).toEqual({ id: unknown });
    await raw.send(FrameType.want, { id: clip.id, offset: 1000, window: 1 << 20 });
    await untilTrue(() => sentOfType(toRaw, FrameType.end).length === 1, 'the END');
    const frames = sentOfType(toRaw, FrameType.data);
    expect(frames[0]!.header['offset']).toBe(1000);
    expect(Buffer.concat(frames.map((f) => f.body)).equals(data.subarray(1000))).toBe(true);
    expect(a.transfers.list()).toMatchObject([{ id: clip.id, direction: 'send', resumedFrom: 1000 }]);
    await raw.send(FrameType.ack, { id: clip.id, status: 'applied' });
    await untilTrue(() => a.transfers.list().length === 0, 'the send settled');
    expect(clipId(clip.formats, data)).toBe(clip.id);
  });
});
