import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../../src/secure/sodium.js';
import type { Clip } from '../../../src/sync/clip.js';
import type { DeliveryResult } from '../../../src/sync/delivery.js';
import type { PendingDelivery, SyncOptions } from '../../../src/sync/sync-engine.js';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { FrameType } from '../../../src/wire/frame.js';
import { turns, untilTrue } from '../_support/event-loop.js';
import { channelPair, type MemoryChannel } from '../_support/memory-channel.js';
import { SyncNodes, connect, delivered, holds, idOf, local, offerOf, sentOfType, type Node } from '../_support/sync-nodes.js';

const nodes = new SyncNodes();
const clock = nodes.clock;
afterEach(() => nodes.shutdown());
const node = (name: string, options: Partial<SyncOptions> = {}): Node => nodes.node(name, options);
const TEXT = 'text/plain;charset=utf-8';
const BINARY = 'application/octet-stream';

/**
 * A clip stuck mid-transfer: beta grants one 4 KiB window and its CREDIT frames are dropped, so
 * alpha sends four 1 KiB frames and then waits. What happens next is the test's.
 */
async function stalledTransfer(): Promise<{ a: Node; b: Node; toB: MemoryChannel; toA: MemoryChannel; clip: Clip; deliveries: PendingDelivery[] }> {
  const a = node('alpha');
  const b = node('beta', { windowBytes: 4096 });
  const [toB, toA] = connect(a, b, 1024);
  toA.tap = (frame) => (frame.type === FrameType.credit ? 'drop' : frame);
  const { clip, deliveries } = await a.engine.copyLocal(...local(randomBytes(64 * 1024), BINARY), 'cli');
  await untilTrue(() => sentOfType(toB, FrameType.data).length === 4, 'the first window sent');
  toA.tap = undefined;
  return { a, b, toB, toA, clip, deliveries };
}

describe('SyncEngine: OFFER → WANT → DATA → END → ACK', () => {
  it('delivers a small clip, applies it on the receiver, and reports it delivered', async () => {
    const a = node('alpha');
    const b = node('beta');
    const [toB] = connect(a, b);
    const text = Buffer.from('hello from alpha');
    const { clip, deliveries } = await a.engine.copyLocal(...local(text, TEXT), 'cli');
    expect(await delivered(deliveries)).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'delivered' }]);
    expect(b.engine.currentClip()).toMatchObject({ id: clip.id, mime: TEXT, origin: a.fingerprint, ts: clip.ts });
    expect(b.clipboard.writes.map((w) => w.data?.toString())).toEqual(['hello from alpha']);
    expect(a.clipboard.writes).toHaveLength(1); // `copy` from the CLI also sets the local clipboard
    expect(toB.sent.map((f) => f.type)).toEqual([FrameType.offer, FrameType.data, FrameType.end]);
  });

  it('streams a multi-chunk clip in frames no larger than the channel allows, within the credit window', async () => {
    const a = node('alpha');
    const b = node('beta', { windowBytes: 8 * 1024 });
    const [toB, toA] = connect(a, b, 1024);
    const data = randomBytes(100 * 1024 + 7);
    const { deliveries } = await a.engine.copyLocal(...local(data, BINARY), 'cli');
    expect((await delivered(deliveries))[0]!.status).toBe('delivered');
    expect(b.engine.currentClip()?.data?.equals(data)).toBe(true);
    const dataFrames = sentOfType(toB, FrameType.data);
    expect(dataFrames.length).toBe(Math.ceil(data.length / 1024));
    expect(Math.max(...dataFrames.map((f) => f.body.length))).toBe(1024);
    expect(sentOfType(toA, FrameType.want)[0]?.header).toMatchObject({ offset: 0, window: 8 * 1024 });
    expect(sentOfType(toA, FrameType.credit).length).toBeGreaterThan(10);
  });

  it('offers the current clip to a peer that connects later', async () => {
    const a = node('alpha');
    const data = Buffer.from('copied before beta came');
    await a.engine.copyLocal(...local(data, 'text/plain'), 'cli');
    const b = node('beta');
    connect(a, b);
    await untilTrue(() => holds(b, data, 'text/plain'), 'beta holds the clip');
  });

  it('answers "have" for a clip it already holds, which counts as delivered', async () => {
    const a = node('alpha');
    const b = node('beta');
    const data = Buffer.from('both have it');
    connect(a, b);
    const first = await a.engine.copyLocal(...local(data, 'text/plain'), 'cli');
    await delivered(first.deliveries);
    const again = await b.engine.copyLocal(...local(data, 'text/plain'), 'cli'); // same content on beta: the same clip
    expect(await delivered(again.deliveries)).toEqual([{ fingerprint: a.fingerprint, name: 'alpha', status: 'delivered' }]);
  });

  it('puts a clip over the spool threshold into the spool and pins it while it is current', async () => {
    const a = node('alpha');
    const b = node('beta', { spoolThresholdBytes: 1000 });
    connect(a, b, 4096);
    const data = randomBytes(20_000);
    const { clip, deliveries } = await a.engine.copyLocal(...local(data, BINARY), 'cli');
    await delivered(deliveries);
    expect(b.engine.currentClip()).toMatchObject({ id: clip.id, file: `/spool/${clip.id}` });
    expect(b.spool.stored.get(clip.id)?.equals(data)).toBe(true);
    expect([...b.spool.pinned]).toEqual([clip.id]);
    // Put on the desktop clipboard too, its bytes in the spool file (the port streams them from there).
    expect(b.clipboard.writes).toEqual([b.engine.currentClip()]);
    expect(b.clipboard.writes[0]).toMatchObject({ id: clip.id, file: `/spool/${clip.id}`, formats: [{ mime: BINARY, size: 20_000 }] });
    expect(b.clipboard.writes[0]!.data).toBeUndefined();
    const next = await a.engine.copyLocal(...local(Buffer.from('small'), 'text/plain'), 'cli');
    await delivered(next.deliveries);
    expect([...b.spool.pinned]).toEqual([]);
  });
});

describe('SyncEngine: supersede', () => {
  it('a newer copy cancels the older clip on its way: the older delivery fails, the receiver ends with the newer', async () => {
    const { a, b, toB, ...first } = await stalledTransfer();
    const second = await a.engine.copyLocal(...local(Buffer.from('newer'), 'text/plain'), 'cli');
    expect(await delivered(first.deliveries)).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'failed', detail: 'superseded by a newer clip' }]);
    expect((await delivered(second.deliveries))[0]!.status).toBe('delivered');
    expect(b.engine.currentClip()?.data?.toString()).toBe('newer');
    expect(sentOfType(toB, FrameType.cancel).map((f) => f.header['id'])).toEqual([first.clip.id]);
    expect(b.transfers.list()).toEqual([]);
  });

  it('on the receiver, a newer OFFER from the same peer replaces the transfer in progress even without a CANCEL', async () => {
    const { a, b, toB, ...first } = await stalledTransfer();
    toB.tap = (frame) => (frame.type === FrameType.cancel ? 'drop' : frame);
    const ended: string[] = [];
    b.transfers.on('end', (info, outcome) => ended.push(`${info.id}:${outcome}`));
    const second = await a.engine.copyLocal(...local(Buffer.from('newer still'), 'text/plain'), 'cli');
    expect((await delivered(second.deliveries))[0]!.status).toBe('delivered');
    expect(b.engine.currentClip()?.data?.toString()).toBe('newer still');
    expect(ended).toContain(`${first.clip.id}:cancelled`);
  });
});

describe('SyncEngine: refusals', () => {
  it('refuses a clip over the receiver limit; the sender is told why and the receiver keeps its clip', async () => {
    const a = node('alpha');
    const b = node('beta', { maxClipBytes: 1000 });
    connect(a, b);
    const { deliveries } = await a.engine.copyLocal(...local(randomBytes(5000), BINARY), 'cli');
    expect(await delivered(deliveries)).toEqual([
      { fingerprint: b.fingerprint, name: 'beta', status: 'failed', detail: "clip of 5000 bytes is over 1000, the receiver's limit" },
    ]);
    expect(b.engine.currentClip()).toBeUndefined();
    expect(b.log.at('warn').map((l) => l['msg'])).toContain('refused an oversized clip');
  });

  it('refuses a local copy over its own limit with CLIPSYNC_ERR_CLIP_TOO_LARGE', async () => {
    const a = node('alpha', { maxClipBytes: 10 });
    await expect(a.engine.copyLocal(...local(Buffer.alloc(11), 'text/plain'), 'cli')).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_CLIP_TOO_LARGE' });
  });

  it('refuses a clip stamped more than a day ahead, without moving its own clock', async () => {
    const b = node('beta');
    const [raw, toRaw] = channelPair();
    b.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toRaw });
    const data = Buffer.from('from the future');
    const ts = clock.now() + 2 * 24 * 60 * 60 * 1000;
    await raw.send(FrameType.offer, ...offerOf(data, 'text/plain', ts, 'SHA256:raw'));
    await untilTrue(() => sentOfType(toRaw, FrameType.ack).length === 1, 'an ACK');
    expect(sentOfType(toRaw, FrameType.ack)[0]!.header).toMatchObject({ status: 'rejected', reason: expect.stringContaining('more than a day ahead') });
    const { clip } = await b.engine.copyLocal(...local(Buffer.from('local'), 'text/plain'), 'cli');
    expect(clip.ts).toBeLessThan(ts);
  });

  it('refuses at once a clip whose spool writes fail (a full disk), and keeps syncing afterwards', async () => {
    const a = node('alpha');
    const b = node('beta', { spoolThresholdBytes: 100 });
    connect(a, b, 1024);
    b.spool.failWrites = true;
    const { deliveries } = await a.engine.copyLocal(...local(randomBytes(10_000), BINARY), 'cli');
    const [result] = await delivered(deliveries);
    expect(result).toMatchObject({ status: 'failed', detail: 'receiver cannot store the clip: the disk holding the spool is full' });
    expect(b.engine.currentClip()).toBeUndefined();
    const next = await a.engine.copyLocal(...local(Buffer.from('small clips still go'), 'text/plain'), 'cli');
    expect((await delivered(next.deliveries))[0]!.status).toBe('delivered');
  });

  it('rejects a clip whose bytes do not match its content id, and never applies it', async () => {
    const a = node('alpha');
    const b = node('beta');
    const [toB] = connect(a, b);
    toB.tap = (frame) => (frame.type === FrameType.data ? { ...frame, body: Buffer.from(frame.body).fill(0x41) } : frame);
    const { deliveries } = await a.engine.copyLocal(...local(Buffer.from('the real bytes'), 'text/plain'), 'cli');
    const [result] = await delivered(deliveries);
    expect(result).toMatchObject({ status: 'failed', detail: expect.stringContaining('content hash mismatch') });
    expect(b.engine.currentClip()).toBeUndefined();
    expect(b.clipboard.writes).toEqual([]);
  });
});

describe('SyncEngine: resume after a cut', () => {
  it('resumes an in-memory transfer from the bytes kept when the connection dropped, and copy --wait sees it delivered', async () => {
    const a = node('alpha');
    const b = node('beta', { windowBytes: 8 * 1024 });
    const [toB] = connect(a, b, 1024);
    const data = randomBytes(50 * 1024);
    let dataFrames = 0;
    toB.tap = (frame) => {
      if (frame.type === FrameType.data && ++dataFrames === 21) {
        setImmediate(() => toB.cut(1006));
        return 'drop';
      }
      return frame;
    };
    const { deliveries } = await a.engine.copyLocal(...local(data, BINARY), 'cli');
    await untilTrue(() => !toB.isOpen, 'the cut');
    await turns(5);
    expect(holds(b, data, BINARY)).toBe(false);
    const [again, againB] = connect(a, b, 1024);
    expect(await delivered(deliveries)).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'delivered' }]);
    expect(b.engine.currentClip()?.data?.equals(data)).toBe(true);
    const want = sentOfType(againB, FrameType.want)[0]!;
    expect(want.header['offset']).toBe(20 * 1024);
    expect(sentOfType(again, FrameType.data).reduce((n, f) => n + f.body.length, 0)).toBe(data.length - 20 * 1024);
  });

  it('fails copy --wait after the grace period when the peer does not come back', async () => {
    const { a, b, toB, deliveries } = await stalledTransfer();
    let settled: DeliveryResult | undefined;
    void deliveries[0]!.result.then((r) => (settled = r));
    toB.cut(1006);
    await clock.advance(29_000, () => turns(2));
    expect(settled).toBeUndefined();
    await clock.advance(1_000, () => turns(2));
    expect(settled).toEqual({ fingerprint: b.fingerprint, name: 'beta', status: 'failed', detail: 'disconnected before it had the clip' });
  });

  it('fails copy --wait at once when the peer is refused (not a transient close)', async () => {
    const { a, b, toB, deliveries } = await stalledTransfer();
    toB.close(CloseCode.untrusted, 'key no longer trusted');
    expect(await delivered(deliveries)).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'failed', detail: 'disconnected before it had the clip' }]);
  });
});

describe('SyncEngine: last writer wins', () => {
  it('two copies made at once on both sides converge on the same clip everywhere', async () => {
    const a = node('alpha');
    const b = node('beta');
    connect(a, b);
    const fromA = Buffer.from('copied on alpha');
    const fromB = Buffer.from('copied on beta');
    const [ca, cb] = await Promise.all([
      a.engine.copyLocal(...local(fromA, 'text/plain'), 'cli'),
      b.engine.copyLocal(...local(fromB, 'text/plain'), 'cli'),
    ]);
    const results = await Promise.all([delivered(ca.deliveries), delivered(cb.deliveries)]);
    // Same timestamp on the shared fake clock: the origin fingerprint breaks the tie, the same way on both.
    expect(ca.clip.ts).toBe(cb.clip.ts);
    const winner = b.fingerprint > a.fingerprint ? fromB : fromA;
    expect(holds(a, winner, 'text/plain') && holds(b, winner, 'text/plain')).toBe(true);
    const loser = winner === fromA ? results[1] : results[0];
    expect(loser[0]).toMatchObject({ status: 'failed', detail: 'the peer holds a newer clip' });
  });

  it('a copy made after seeing a peer clip is newer, even when the local wall clock is behind', async () => {
    const a = node('alpha');
    const b = node('beta');
    connect(a, b);
    const [raw, toRaw] = channelPair();
    b.engine.attach({ fingerprint: 'SHA256:ahead', name: 'ahead', channel: toRaw });
    const far = Buffer.from('from a peer whose clock is an hour ahead');
    await raw.send(FrameType.offer, ...offerOf(far, 'text/plain', clock.now() + 3_600_000, 'SHA256:ahead'));
    await untilTrue(() => sentOfType(toRaw, FrameType.want).length === 1, 'a WANT');
    await raw.send(FrameType.data, { id: idOf(far, 'text/plain'), offset: 0 }, far);
    await raw.send(FrameType.end, { id: idOf(far, 'text/plain') });
    await untilTrue(() => holds(b, far, 'text/plain'), 'beta applied it');
    const later = await b.engine.copyLocal(...local(Buffer.from('copied after it'), 'text/plain'), 'cli');
    expect(later.clip.ts).toBeGreaterThan(clock.now() + 3_600_000);
    await delivered(later.deliveries.filter((d) => d.fingerprint === a.fingerprint)); // the raw peer never answers
    expect(holds(a, Buffer.from('copied after it'), 'text/plain')).toBe(true);
  });
});

describe('SyncEngine: hostile frames', () => {
  async function rawPeer(): Promise<{ b: Node; raw: MemoryChannel; toRaw: MemoryChannel }> {
    const b = node('beta', { windowBytes: 1000 });
    const [raw, toRaw] = channelPair();
    b.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toRaw });
    return { b, raw, toRaw };
  }

  it.each([
    ['an OFFER whose id is not a content id', FrameType.offer, { id: 'x'.repeat(64), formats: [{ mime: 'text/plain', size: 1 }], size: 1, ts: 1, origin: 'o' }],
    ['an OFFER whose type is not a media type', FrameType.offer, { id: 'a'.repeat(64), formats: [{ mime: 'not a type', size: 1 }], size: 1, ts: 1, origin: 'o' }],
    ['an OFFER with a negative size', FrameType.offer, { id: 'a'.repeat(64), formats: [{ mime: 'text/plain', size: -1 }], size: -1, ts: 1, origin: 'o' }],
    ['a version-1 OFFER (mime, no formats)', FrameType.offer, { id: 'a'.repeat(64), mime: 'text/plain', size: 1, ts: 1, origin: 'o' }],
    ['an OFFER whose formats are out of order', FrameType.offer, { id: 'a'.repeat(64), formats: [{ mime: 'text/plain', size: 1 }, { mime: 'text/html', size: 1 }], size: 2, ts: 1, origin: 'o' }],
    ['an OFFER whose size is not the sum of its formats', FrameType.offer, { id: 'a'.repeat(64), formats: [{ mime: 'text/plain', size: 1 }], size: 2, ts: 1, origin: 'o' }],
    ['a WANT with no window', FrameType.want, { id: 'a'.repeat(64), offset: 0 }],
    ['a handshake frame after the handshake', FrameType.hello, { v: 1 }],
  ])('closes the session with 4005 on %s', async (_what, type, header) => {
    const { raw } = await rawPeer();
    await raw.send(type, header);
    await untilTrue(() => !raw.isOpen, 'the close');
    expect(raw.closedWith?.code).toBe(CloseCode.malformedFrame);
  });

  it('closes with 4005 on DATA at the wrong offset or beyond the granted window, and applies nothing', async () => {
    for (const [offset, size] of [
      [5, 10],
      [0, 2000],
    ] as const) {
      const { b, raw, toRaw } = await rawPeer();
      const data = randomBytes(4000);
      const id = idOf(data, BINARY);
      await raw.send(FrameType.offer, ...offerOf(data, BINARY, clock.now(), 'SHA256:raw'));
      await untilTrue(() => sentOfType(toRaw, FrameType.want).length === 1, 'a WANT');
      await raw.send(FrameType.data, { id, offset }, data.subarray(offset, offset + size));
      await untilTrue(() => !raw.isOpen, 'the close');
      expect(raw.closedWith?.code).toBe(CloseCode.malformedFrame);
      expect(b.engine.currentClip()).toBeUndefined();
    }
  });

  it('takes a CANCEL right behind the END as a cancel: no refusal sent back, nothing logged as a failure', async () => {
    // What a quick second copy does: the sender supersedes a clip whose END is already out.
    // Into the spool, whose writes are slow: the END waits for them, and the CANCEL comes meanwhile.
    const b = node('beta', { windowBytes: 64 * 1024, spoolThresholdBytes: 1024 });
    const [raw, toRaw] = channelPair();
    b.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toRaw });
    const data = randomBytes(40 * 1024);
    const id = idOf(data, BINARY);
    await raw.send(FrameType.offer, ...offerOf(data, BINARY, clock.now(), 'SHA256:raw'));
    await untilTrue(() => sentOfType(toRaw, FrameType.want).length === 1, 'a WANT');
    const release = b.spool.holdWrites();
    for (let at = 0; at < data.length; at += 1024) await raw.send(FrameType.data, { id, offset: at }, data.subarray(at, at + 1024));
    await raw.send(FrameType.end, { id });
    await raw.send(FrameType.cancel, { id });
    await turns(5); // each frame is delivered on a turn of its own
    release();
    await turns(20);
    expect(sentOfType(toRaw, FrameType.ack)).toEqual([]);
    expect(b.log.at('warn')).toEqual([]);
    expect(b.engine.currentClip()).toBeUndefined();
    expect(raw.isOpen).toBe(true);
  });

  it('ignores frames for transfers it does not have (late DATA after a cancel, a stray CREDIT or ACK)', async () => {
    const { b, raw } = await rawPeer();
    await raw.send(FrameType.data, { id: 'b'.repeat(64), offset: 0 }, Buffer.from('late'));
    await raw.send(FrameType.credit, { id: 'b'.repeat(64), bytes: 10 });
    await raw.send(FrameType.ack, { id: 'b'.repeat(64), status: 'applied' });
    await raw.send(FrameType.cancel, { id: 'b'.repeat(64) });
    await turns(5);
    expect(raw.isOpen).toBe(true);
    expect(b.engine.currentClip()).toBeUndefined();
  });
});
