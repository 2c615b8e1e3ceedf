import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_REFETCHES } from '../../../src/sync/transfer/incoming.js';
import { FrameType } from '../../../src/wire/frame.js';
import { untilTrue } from '../_support/event-loop.js';
import { channelPair, type MemoryChannel } from '../_support/memory-channel.js';
import { SyncNodes, offerOf, sentOfType, type Node } from '../_support/sync-nodes.js';

/**
 * A leaf that fails its check is asked for again, not the whole clip thrown away: the receiver
 * keeps the leaves it proved, sends WANT with `restart`, drops the tail of the old stream, and
 * applies the clip once the leaf arrives right (docs/PROTOCOL.md §5.2).
 */

const MiB = 1024 * 1024;
const FRAME = 960 * 1024;
const WINDOW = 16 * MiB;
const BINARY = 'application/octet-stream';

const nodes = new SyncNodes();
const clock = nodes.clock;
afterEach(() => nodes.shutdown());

async function rawSender(): Promise<{ b: Node; raw: MemoryChannel; toRaw: MemoryChannel }> {
  const b = nodes.node('beta', { windowBytes: WINDOW });
  const [raw, toRaw] = channelPair();
  b.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toRaw });
  return { b, raw, toRaw };
}

async function stream(raw: MemoryChannel, id: string, body: Buffer, from: number): Promise<void> {
  for (let at = from; at < body.length; at += FRAME) await raw.send(FrameType.data, { id, offset: at }, body.subarray(at, Math.min(body.length, at + FRAME)));
  await raw.send(FrameType.end, { id });
}

describe('a leaf that fails its check', () => {
  it('is asked for again from the first bad leaf, the old stream is dropped, and the clip is applied', async () => {
    const { b, raw, toRaw } = await rawSender();
    const data = randomBytes(3 * MiB + 5000);
    const [header, leaves] = offerOf(data, BINARY, clock.now(), 'SHA256:raw');
    const id = header['id'] as string;
    await raw.send(FrameType.offer, header, leaves);
    await untilTrue(() => sentOfType(toRaw, FrameType.want).length === 1, 'a WANT');
    const damaged = Buffer.from(data);
    damaged[MiB + 100]! ^= 1; // in leaf 1
    await stream(raw, id, damaged, 0); // all of it, and END: the old stream's tail must not count
    await untilTrue(() => sentOfType(toRaw, FrameType.want).length === 2, 'the WANT that asks again');
    expect(sentOfType(toRaw, FrameType.want)[1]!.header).toEqual({ id, offset: MiB, window: WINDOW, restart: true });
    expect(sentOfType(toRaw, FrameType.ack)).toHaveLength(0);
    await stream(raw, id, data, MiB);
    await untilTrue(() => sentOfType(toRaw, FrameType.ack).length === 1, 'the ACK');
    expect(sentOfType(toRaw, FrameType.ack)[0]!.header).toMatchObject({ id, status: 'applied' });
    expect(b.engine.currentClip()?.data?.equals(data)).toBe(true);
    expect(raw.isOpen).toBe(true);
  });

  it(`gives up after ${MAX_REFETCHES} tries with a hash mismatch, keeping nothing`, async () => {
    const { b, raw, toRaw } = await rawSender();
    const data = randomBytes(2 * MiB + 10);
    const [header, leaves] = offerOf(data, BINARY, clock.now(), 'SHA256:raw');
    const id = header['id'] as string;
    await raw.send(FrameType.offer, header, leaves);
    await untilTrue(() => sentOfType(toRaw, FrameType.want).length === 1, 'a WANT');
    const damaged = Buffer.from(data);
    damaged[5]! ^= 1; // leaf 0: the sender's copy is bad, so every try fails the same way
    await stream(raw, id, damaged, 0);
    for (let attempt = 1; attempt <= MAX_REFETCHES; attempt++) {
      await untilTrue(() => sentOfType(toRaw, FrameType.want).length === attempt + 1, `WANT number ${attempt + 1}`);
      expect(sentOfType(toRaw, FrameType.want)[attempt]!.header).toMatchObject({ offset: 0, restart: true });
      await stream(raw, id, damaged, 0);
    }
    await untilTrue(() => sentOfType(toRaw, FrameType.ack).length === 1, 'the ACK');
    expect(sentOfType(toRaw, FrameType.ack)[0]!.header).toMatchObject({ id, status: 'rejected', reason: expect.stringContaining('content hash mismatch: leaf 0') });
    expect(b.engine.currentClip()).toBeUndefined();
    expect(sentOfType(toRaw, FrameType.want)).toHaveLength(MAX_REFETCHES + 1);
  });
});

describe('a sender asked to restart', () => {
  it('streams again from the offset of a WANT with restart, and only a plain repeat changes nothing', async () => {
    const a = nodes.node('alpha', { windowBytes: WINDOW });
    const [toA, raw] = channelPair();
    a.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toA });
    const data = randomBytes(2 * MiB + 77);
    const { clip } = await a.engine.copyLocal({ data }, [{ mime: BINARY, size: data.length }], 'cli');
    await untilTrue(() => sentOfType(toA, FrameType.offer).length === 1, 'the OFFER');
    await raw.send(FrameType.want, { id: clip.id, offset: 0, window: WINDOW });
    await untilTrue(() => sentOfType(toA, FrameType.end).length === 1, 'the first stream');
    await raw.send(FrameType.want, { id: clip.id, offset: 0, window: WINDOW }); // a plain repeat
    await raw.send(FrameType.want, { id: clip.id, offset: MiB, window: WINDOW, restart: true });
    await untilTrue(() => sentOfType(toA, FrameType.end).length === 2, 'the restarted stream');
    const offsets = sentOfType(toA, FrameType.data).map((f) => f.header['offset'] as number);
    const from = (start: number) => Array.from({ length: Math.ceil((data.length - start) / toA.maxBodyBytes) }, (_, i) => start + i * toA.maxBodyBytes);
    expect(offsets).toEqual([...from(0), ...from(MiB)]);
  });
});
