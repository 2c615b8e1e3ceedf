import { describe, expect, it } from 'vitest';
import { rulesFor, formatAllowed, type PeerRules } from '../../../src/core/config/peer-rules.js';
import { assembleClip, type Clip } from '../../../src/sync/clip.js';
import { PAUSED_DETAIL, clipForPeer, declineReason, receivedFromPeer, type SyncGate } from '../../../src/sync/sync-gate.js';

const PEER = { fingerprint: 'SHA256:' + 'A'.repeat(43), name: 'laptop' };

function gate(rules: PeerRules, paused = false): SyncGate {
  return { pausedReason: () => (paused ? 'paused' : undefined), rules: (peer) => rulesFor(rules, peer.fingerprint, peer.name) };
}

function clipOf(parts: { mime: string; text: string }[]): Clip {
  return { ...assembleClip(parts.map((p) => ({ mime: p.mime, data: Buffer.from(p.text) }))), ts: 5, origin: 'SHA256:origin' };
}

describe('peer rules', () => {
  it('match a fingerprint before a name, and fill in what a rule leaves out', () => {
    const rules: PeerRules = { laptop: { send: false }, [PEER.fingerprint]: { maxBytes: 5 } };
    expect(rulesFor(rules, PEER.fingerprint, 'laptop')).toEqual({ send: true, receive: true, formats: null, maxBytes: 5, matched: PEER.fingerprint });
    expect(rulesFor(rules, 'SHA256:other', 'laptop').matched).toBe('laptop');
    expect(rulesFor(rules, 'SHA256:other', 'desk')).toEqual({ send: true, receive: true, formats: null, maxBytes: null, matched: null });
  });

  it('match format globs on the base type, ignoring parameters and case', () => {
    expect(formatAllowed(['text/*'], 'text/plain;charset=utf-8')).toBe(true);
    expect(formatAllowed(['image/png'], 'IMAGE/PNG')).toBe(true);
    expect(formatAllowed(['image/png'], 'image/jpeg')).toBe(false);
    expect(formatAllowed(['*'], 'application/x-foo')).toBe(true);
    expect(formatAllowed(['*/html'], 'text/html')).toBe(true);
    expect(formatAllowed([], 'text/plain')).toBe(false);
    expect(formatAllowed(null, 'text/plain')).toBe(true);
  });
});

describe('the sync gate', () => {
  const html = clipOf([
    { mime: 'text/html', text: '<b>hi</b>' },
    { mime: 'image/png', text: 'PNGDATA' },
    { mime: 'text/plain;charset=utf-8', text: 'hi' },
  ]);

  it('sends a clip narrowed to the allowed formats as a clip of its own, same ts and origin', () => {
    const verdict = clipForPeer(gate({ laptop: { formats: ['text/*'] } }), PEER, html);
    if (!('clip' in verdict)) throw new Error(verdict.skip);
    expect(verdict.clip.formats.map((f) => f.mime)).toEqual(['text/html', 'text/plain;charset=utf-8']);
    expect(verdict.clip.data!.toString()).toBe('<b>hi</b>hi');
    expect(verdict.clip.id).toBe(clipOf([{ mime: 'text/html', text: '<b>hi</b>' }, { mime: 'text/plain;charset=utf-8', text: 'hi' }]).id);
    expect(verdict.clip).toMatchObject({ ts: 5, origin: 'SHA256:origin', size: 11 });
  });

  it('skips a peer for the pause, send: false, no allowed format, a spooled clip only partly allowed, or maxBytes', () => {
    expect(clipForPeer(gate({}, true), PEER, html)).toEqual({ skip: PAUSED_DETAIL });
    expect(clipForPeer(gate({ laptop: { send: false } }), PEER, html)).toEqual({ skip: 'not sent: peerRules "laptop" has send: false' });
    expect(clipForPeer(gate({ laptop: { formats: ['audio/*'] } }), PEER, html)).toMatchObject({ skip: expect.stringContaining('none of its formats') });
    const spooled: Clip = { ...html, data: undefined, file: '/spool/x' };
    expect(clipForPeer(gate({ laptop: { formats: ['text/*'] } }), PEER, spooled)).toMatchObject({ skip: expect.stringContaining('travels whole or not at all') });
    expect(clipForPeer(gate({ laptop: { formats: ['text/*'], maxBytes: 10 } }), PEER, html)).toMatchObject({ skip: 'not sent: 11 bytes is over peerRules "laptop" maxBytes 10' });
    expect(clipForPeer(undefined, PEER, html)).toEqual({ clip: html });
  });

  it('declines offers for the pause and the receive rules, and narrows what it takes', () => {
    expect(declineReason(gate({}, true), PEER, html, 1024)).toBe('sync is paused on the receiver');
    expect(declineReason(gate({ laptop: { receive: false } }), PEER, html, 1024)).toContain('receive: false');
    expect(declineReason(gate({ laptop: { formats: ['audio/*'] } }), PEER, html, 1024)).toContain('none of the clip');
    expect(declineReason(gate({ laptop: { formats: ['text/*'] } }), PEER, html, 10)).toContain('taken whole or not at all');
    expect(declineReason(gate({ laptop: { formats: ['text/*'] } }), PEER, html, 1024)).toBeUndefined();
    expect(declineReason(gate({ laptop: { maxBytes: 10 } }), PEER, html, 1024)).toContain('over the receiver');
    const taken = receivedFromPeer(gate({ laptop: { formats: ['image/png'] } }), PEER, html);
    expect(taken.formats).toEqual([{ mime: 'image/png', size: 7 }]);
    expect(taken.data!.toString()).toBe('PNGDATA');
  });
});
