import { afterEach, describe, expect, it } from 'vitest';
import { blake3Hash, rootId } from '../../../src/content/content-hash.js';
import { assembleClip, clipId } from '../../../src/sync/clip.js';
import type { SyncOptions } from '../../../src/sync/sync-engine.js';
import { FrameType } from '../../../src/wire/frame.js';
import { untilTrue } from '../_support/event-loop.js';
import { channelPair } from '../_support/memory-channel.js';
import { SyncNodes, connect, delivered, local, sentOfType, type Node } from '../_support/sync-nodes.js';

/** The sync engine and clips with several formats: one body, one id over body and formats, the initial clip, the clipboard write. */

const nodes = new SyncNodes();
const clock = nodes.clock;
afterEach(() => nodes.shutdown());
const node = (name: string, options: Partial<SyncOptions> = {}): Node => nodes.node(name, options);
const TEXT = 'text/plain;charset=utf-8';

/** A browser-like copy: HTML and plain text of the same words. */
const browserCopy = () =>
  assembleClip([
    { mime: TEXT, data: Buffer.from('hello there') },
    { mime: 'text/html', data: Buffer.from('<b>hello</b> there') },
  ]);

describe('SyncEngine: clips with several formats', () => {
  it('sends every format in one transfer; the receiver holds the same formats, body, id and main type', async () => {
    const a = node('alpha');
    const b = node('beta');
    const [toB] = connect(a, b);
    const copy = browserCopy();
    const { clip, deliveries } = await a.engine.copyLocal({ data: copy.data }, copy.formats, 'cli');
    expect(clip).toMatchObject({ id: copy.id, formats: copy.formats, mime: TEXT, size: copy.data.length });
    expect(await delivered(deliveries)).toEqual([{ fingerprint: b.fingerprint, name: 'beta', status: 'delivered' }]);
    expect(sentOfType(toB, FrameType.offer).map((f) => f.header)).toEqual([
      {
        id: copy.id,
        formats: [
          { mime: 'text/html', size: 18 },
          { mime: TEXT, size: 11 },
        ],
        size: 29,
        ts: clip.ts,
        origin: a.fingerprint,
      },
    ]);
    expect(sentOfType(toB, FrameType.data)).toHaveLength(1);
    const held = b.engine.currentClip()!;
    expect(held).toMatchObject({ id: copy.id, formats: copy.formats, mime: TEXT, size: 29, ts: clip.ts, origin: a.fingerprint });
    expect(held.data?.toString()).toBe('<b>hello</b> therehello there');
    expect(b.clipboard.writes).toEqual([held]);
  });

  it('the same copy again is the same clip; the same bytes under another type are a new one', async () => {
    const a = node('alpha');
    const data = Buffer.from('same bytes');
    const first = await a.engine.copyLocal(...local(data, TEXT), 'cli');
    clock.advanceSync(5);
    const again = await a.engine.copyLocal(...local(data, TEXT), 'clipboard');
    expect(again.clip).toBe(first.clip);
    const html = await a.engine.copyLocal(...local(data, 'text/html'), 'clipboard');
    expect(html.clip.id).not.toBe(first.clip.id);
    expect(html.clip.id).toBe(clipId([{ mime: 'text/html', size: data.length }], data));
    expect(html.clip.ts).toBeGreaterThan(first.clip.ts);
    expect(a.engine.currentClip()).toBe(html.clip);
  });

  it('refuses an OFFER whose id covers only the bytes (as version 1 had it): the formats are part of what the id proves', async () => {
    const b = node('beta');
    const [raw, toRaw] = channelPair();
    b.engine.attach({ fingerprint: 'SHA256:raw', name: 'raw', channel: toRaw });
    const data = Buffer.from('bytes alone');
    // The leaves are right, the id covers them without the formats' trailer: a valid root of the wrong thing.
    const leaves = blake3Hash(data);
    const id = rootId(leaves, Buffer.alloc(0));
    await raw.send(FrameType.offer, { id, formats: [{ mime: TEXT, size: data.length }], size: data.length, ts: clock.now(), origin: 'SHA256:raw' }, leaves);
    await untilTrue(() => !raw.isOpen, 'the close');
    expect(raw.closedWith?.code).toBe(4005);
    expect(sentOfType(toRaw, FrameType.want)).toHaveLength(0);
    expect(b.engine.currentClip()).toBeUndefined();
  });
});

describe('SyncEngine: the clip the clipboard held at start', () => {
  it('adopts its representations as one clip, at ts 0 and of this daemon, without writing it back', async () => {
    const a = node('alpha');
    a.engine.adoptInitial([
      { mime: TEXT, data: Buffer.from('at start') },
      { mime: 'image/png', data: Buffer.from([1, 2, 3]) },
    ]);
    const expected = assembleClip([
      { mime: 'image/png', data: Buffer.from([1, 2, 3]) },
      { mime: TEXT, data: Buffer.from('at start') },
    ]);
    expect(a.engine.currentClip()).toEqual({ ...expected, ts: 0, origin: a.fingerprint });
    expect(a.clipboard.writes).toEqual([]);
  });

  it('adopts nothing from no representations, and never replaces a clip already there', async () => {
    const a = node('alpha');
    a.engine.adoptInitial([]);
    expect(a.engine.currentClip()).toBeUndefined();
    const { clip } = await a.engine.copyLocal(...local(Buffer.from('copied'), TEXT), 'clipboard');
    a.engine.adoptInitial([{ mime: TEXT, data: Buffer.from('late') }]);
    expect(a.engine.currentClip()).toBe(clip);
  });

  it('is older than any clip a peer offers', async () => {
    const a = node('alpha');
    const b = node('beta');
    b.engine.adoptInitial([{ mime: TEXT, data: Buffer.from('what beta held') }]);
    connect(a, b);
    const { clip, deliveries } = await a.engine.copyLocal(...local(Buffer.from('from alpha'), TEXT), 'cli');
    expect((await delivered(deliveries))[0]!.status).toBe('delivered');
    expect(b.engine.currentClip()?.id).toBe(clip.id);
  });
});

describe('SyncEngine: writing the desktop clipboard', () => {
  it('does not put a received clip on the clipboard once a copy made here meanwhile is current', async () => {
    const a = node('alpha');
    const b = node('beta');
    connect(a, b);
    const release = b.clipboard.hold();
    const received = await a.engine.copyLocal(...local(Buffer.from('from alpha'), TEXT), 'cli');
    expect((await delivered(received.deliveries))[0]!.status).toBe('delivered');
    // The write is pending; the user copies something on beta (the watcher reports it).
    const mine = await b.engine.copyLocal(...local(Buffer.from('copied on beta'), TEXT), 'clipboard');
    release();
    await untilTrue(() => b.clipboard.superseded.length === 1, 'the write superseded');
    expect(b.clipboard.superseded[0]!.id).toBe(received.clip.id);
    expect(b.clipboard.writes).toEqual([]);
    expect(b.engine.currentClip()).toBe(mine.clip);
    expect(b.log.at('debug').map((l) => l['msg'])).toContain('a newer copy came first; not put on the clipboard');
  });

  it('offers the current clip again when the desktop comes back, and nothing when there is none', async () => {
    const a = node('alpha');
    await a.engine.restoreToClipboard();
    expect(a.clipboard.writes).toEqual([]);
    const { clip } = await a.engine.copyLocal(...local(Buffer.from('kept'), TEXT), 'clipboard');
    expect(a.clipboard.writes).toEqual([]); // copied from the clipboard: it is there already
    await a.engine.restoreToClipboard();
    expect(a.clipboard.writes).toEqual([clip]);
  });

  it('keeps going when the clipboard cannot be written, and says so', async () => {
    const a = node('alpha');
    a.clipboard.write = async () => {
      throw new Error('display gone');
    };
    const { clip } = await a.engine.copyLocal(...local(Buffer.from('still current'), TEXT), 'cli');
    expect(a.engine.currentClip()).toBe(clip);
    expect(a.log.at('warn')).toEqual([expect.objectContaining({ reason: 'display gone', msg: expect.stringContaining('cannot write the system clipboard') })]);
  });
});
