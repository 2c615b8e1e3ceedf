import { afterEach, describe, expect, it } from 'vitest';
import { rulesFor, type PeerRules } from '../../../src/core/config/peer-rules.js';
import { assembleClip, type Clip } from '../../../src/sync/clip.js';
import type { SyncGate } from '../../../src/sync/sync-gate.js';
import type { SyncOptions } from '../../../src/sync/sync-engine.js';
import { FrameType, type Frame } from '../../../src/wire/frame.js';
import { untilTrue } from '../_support/event-loop.js';
import { SyncNodes, connect, delivered, local, sentOfType, type Node } from '../_support/sync-nodes.js';

const nodes = new SyncNodes();
afterEach(() => nodes.shutdown());
const node = (name: string, options: Partial<SyncOptions> = {}): Node => nodes.node(name, options);
const TEXT = 'text/plain;charset=utf-8';

/** A gate with these rules, paused while `paused.on`. */
function gate(rules: PeerRules, paused = { on: false }): SyncGate {
  return { pausedReason: () => (paused.on ? 'paused' : undefined), rules: (peer) => rulesFor(rules, peer.fingerprint, peer.name) };
}

describe('SyncEngine with a gate (pause, per-peer rules)', () => {
  it('sends a multi-format copy narrowed to the formats the peer may have, and the peer applies that clip', async () => {
    const a = node('alpha', { gate: gate({ beta: { formats: ['text/*'] } }) });
    const b = node('beta');
    connect(a, b);
    const parts = assembleClip([
      { mime: 'image/png', data: Buffer.from('PNG') },
      { mime: 'text/html', data: Buffer.from('<i>x</i>') },
      { mime: TEXT, data: Buffer.from('x') },
    ]);
    const { deliveries } = await a.engine.copyLocal({ data: parts.data }, parts.formats, 'clipboard');
    expect((await delivered(deliveries))[0]!.status).toBe('delivered');
    expect(b.engine.currentClip()!.formats.map((f) => f.mime)).toEqual(['text/html', TEXT]);
    expect(b.engine.currentClip()!.data!.toString()).toBe('<i>x</i>x');
  });

  it('narrows what it receives to the formats its rules allow for the sender', async () => {
    const a = node('alpha');
    const b = node('beta', { gate: gate({ alpha: { formats: ['image/png'] } }) });
    connect(a, b);
    const parts = assembleClip([
      { mime: 'image/png', data: Buffer.from('PNG') },
      { mime: TEXT, data: Buffer.from('x') },
    ]);
    await delivered((await a.engine.copyLocal({ data: parts.data }, parts.formats, 'clipboard')).deliveries);
    expect(b.engine.currentClip()).toMatchObject({ formats: [{ mime: 'image/png', size: 3 }], ts: expect.any(Number) });
    expect(b.clipboard.writes.at(-1)?.data?.toString()).toBe('PNG');
  });

  it('remembers local copies and received clips, never a secret copy nor one made while paused', async () => {
    const remembered: [string, string | null][] = [];
    const paused = { on: false };
    const onClip = (clip: Clip, from: { name: string } | null): void => void remembered.push([clip.data!.toString(), from?.name ?? null]);
    const a = node('alpha', { gate: gate({}, paused), onClip });
    const b = node('beta');
    connect(a, b);
    await a.engine.copyLocal(...local(Buffer.from('kept'), TEXT), 'clipboard');
    await a.engine.copyLocal(...local(Buffer.from('secret'), TEXT), 'clipboard', { sensitive: true });
    paused.on = true;
    const during = await a.engine.copyLocal(...local(Buffer.from('while paused'), TEXT), 'cli');
    expect(await delivered(during.deliveries)).toEqual([expect.objectContaining({ status: 'skipped', detail: 'not sent: sync is paused here (clipsync resume)' })]);
    paused.on = false;
    nodes.clock.advanceSync(1000); // beta copies later than alpha's paused copy, so its clip wins there
    await delivered((await b.engine.copyLocal(...local(Buffer.from('from beta'), TEXT), 'cli')).deliveries);
    expect(remembered).toEqual([
      ['kept', null],
      ['from beta', 'beta'],
    ]);
  });

  it('declines a transfer that ends after the pause began, and the sender counts it skipped', async () => {
    const paused = { on: false };
    const a = node('alpha');
    const b = node('beta', { gate: gate({}, paused), windowBytes: 64 * 1024 });
    const [toB, toA] = connect(a, b, 1024);
    let end: Frame | undefined;
    toB.tap = (frame) => (frame.type === FrameType.end ? ((end = frame), 'drop') : frame); // held back: the END comes after the pause
    const { deliveries } = await a.engine.copyLocal(...local(Buffer.alloc(8 * 1024, 1), 'application/octet-stream'), 'cli');
    await untilTrue(() => end !== undefined && b.transfers.list()[0]?.bytes === 8 * 1024, 'every byte at beta, the END held');
    paused.on = true;
    toB.peer.emit('frame', end!);
    expect(await delivered(deliveries)).toEqual([expect.objectContaining({ status: 'skipped', detail: 'sync is paused on the receiver' })]);
    expect(b.engine.currentClip()).toBeUndefined();
    expect(sentOfType(toA, FrameType.ack).at(-1)?.header).toMatchObject({ status: 'declined' });
  });
});
