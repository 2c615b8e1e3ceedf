import { afterEach, describe, expect, it } from 'vitest';
import { selectionChannel } from '../../../src/sync/selection-channel.js';
import { FrameType } from '../../../src/wire/frame.js';
import { untilTrue } from '../_support/event-loop.js';
import { channelPair } from '../_support/memory-channel.js';
import { SyncNodes, delivered, holds, local, type Node } from '../_support/sync-nodes.js';

/*
 * CLIPBOARD and PRIMARY over one connection (docs/PROTOCOL.md §5.5): an engine per selection on
 * each side, each seeing only its own frames, so a PRIMARY copy never replaces or cancels a
 * CLIPBOARD transfer, and PRIMARY frames carry `sel: primary` while CLIPBOARD's are unchanged.
 */
const nodes = new SyncNodes();
afterEach(() => nodes.shutdown());

function pairOfSelections(): { clipA: Node; primA: Node; clipB: Node; primB: Node; toB: ReturnType<typeof channelPair>[0] } {
  const [clipA, primA, clipB, primB] = ['a', 'a', 'b', 'b'].map((n) => nodes.node(n, { windowBytes: 4096 }));
  const [toB, toA] = channelPair(1024);
  clipA!.engine.attach({ fingerprint: 'SHA256:b', name: 'b', channel: selectionChannel(toB, 'clipboard') });
  primA!.engine.attach({ fingerprint: 'SHA256:b', name: 'b', channel: selectionChannel(toB, 'primary') });
  clipB!.engine.attach({ fingerprint: 'SHA256:a', name: 'a', channel: selectionChannel(toA, 'clipboard') });
  primB!.engine.attach({ fingerprint: 'SHA256:a', name: 'a', channel: selectionChannel(toA, 'primary') });
  return { clipA: clipA!, primA: primA!, clipB: clipB!, primB: primB!, toB };
}

describe('two selections over one connection', () => {
  it('keeps each selection to its own engine, and marks only PRIMARY frames', async () => {
    const { clipA, primA, clipB, primB, toB } = pairOfSelections();
    const copied = Buffer.from('copied with ctrl+c');
    const selected = Buffer.from('selected with the mouse');
    const a = await delivered((await clipA.engine.copyLocal(...local(copied, 'text/plain;charset=utf-8'), 'cli')).deliveries);
    const p = await delivered((await primA.engine.copyLocal(...local(selected, 'text/plain;charset=utf-8'), 'clipboard')).deliveries);
    expect([a[0]!.status, p[0]!.status]).toEqual(['delivered', 'delivered']);
    expect(holds(clipB, copied, 'text/plain;charset=utf-8')).toBe(true);
    expect(holds(primB, selected, 'text/plain;charset=utf-8')).toBe(true);
    const offers = toB.sent.filter((f) => f.type === FrameType.offer);
    expect(offers.map((f) => f.header['sel'])).toEqual([undefined, 'primary']);
    expect(toB.sent.filter((f) => f.header['sel'] === 'primary').map((f) => f.type)).toEqual(expect.arrayContaining([FrameType.offer, FrameType.data, FrameType.end]));
  });

  it('does not let a stream of PRIMARY copies cancel a CLIPBOARD transfer in flight', async () => {
    const { clipA, primA, clipB, toB } = pairOfSelections();
    const big = Buffer.alloc(64 * 1024, 7); // many frames of 1 KiB, a window of 4 KiB
    const sending = (await clipA.engine.copyLocal(...local(big, 'application/octet-stream'), 'cli')).deliveries;
    for (let i = 0; i < 20; i++) await primA.engine.copyLocal(...local(Buffer.from(`selection ${i}`), 'text/plain;charset=utf-8'), 'clipboard');
    expect((await delivered(sending))[0]!.status).toBe('delivered');
    await untilTrue(() => holds(clipB, big, 'application/octet-stream'), 'the large clip on B');
    expect(toB.sent.filter((f) => f.type === FrameType.cancel && f.header['sel'] === undefined)).toEqual([]);
  });
});
