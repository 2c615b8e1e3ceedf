import { isFilesMeta } from '../files/manifest.js';
import { formatAllowed, type EffectiveRules } from '../core/config/peer-rules.js';
import { assembleClip, formatOffsets, type Clip, type ClipMeta } from './clip.js';

/** A peer as the gate sees it: its key and the name it is known by. */
export interface PeerRef {
  fingerprint: string;
  name: string;
}

/**
 * What the engine asks before a clip goes to a peer or one from a peer is applied: whether
 * sync is paused (`clipsync pause`), and the peer's rules (config `peerRules`). The daemon
 * builds it from its pause state and live config; without one, everything travels.
 */
export interface SyncGate {
  /** Why nothing travels now, or undefined while sync runs. */
  pausedReason(): string | undefined;
  rules(peer: PeerRef): EffectiveRules;
}

/** `copy --wait` says this of a peer the pause kept a clip from. */
export const PAUSED_DETAIL = 'not sent: sync is paused here (clipsync resume)';

/**
 * The clip as it may go to `peer`: whole, narrowed to the formats its rules allow (a new
 * clip, with its own id, of those formats only), or not at all, with the reason `copy --wait`
 * shows. A clip kept in the spool travels whole or not at all.
 */
export function clipForPeer(gate: SyncGate | undefined, peer: PeerRef, clip: Clip): { clip: Clip } | { skip: string } {
  if (gate === undefined) return { clip };
  if (gate.pausedReason() !== undefined) return { skip: PAUSED_DETAIL };
  const rules = gate.rules(peer);
  if (!rules.send) return { skip: `not sent: peerRules "${rules.matched}" has send: false` };
  const narrowed = narrow(clip, rules);
  if ('why' in narrowed) return { skip: `not sent: ${narrowed.why}` };
  if (rules.maxBytes !== null && narrowed.clip.size > rules.maxBytes) {
    return { skip: `not sent: ${narrowed.clip.size} bytes is over peerRules "${rules.matched}" maxBytes ${rules.maxBytes}` };
  }
  return { clip: narrowed.clip };
}

/**
 * Why an OFFER from `peer` is declined (ACK `declined`, which its `copy --wait` shows as
 * skipped), or undefined to take it. A clip some of whose formats are not allowed is taken
 * only when it is small enough to be held in memory (`inMemoryBytes`): it is narrowed to the
 * allowed ones when applied (`receivedFromPeer`).
 */
export function declineReason(gate: SyncGate | undefined, peer: PeerRef, meta: ClipMeta, inMemoryBytes: number): string | undefined {
  if (gate === undefined) return undefined;
  if (gate.pausedReason() !== undefined) return 'sync is paused on the receiver';
  const rules = gate.rules(peer);
  if (!rules.receive) return 'the receiver takes no clips from this peer (its peerRules receive: false)';
  const allowed = meta.formats.filter((f) => formatAllowed(rules.formats, f.mime));
  if (allowed.length === 0) return `none of the clip's formats is allowed by the receiver's peerRules (${rules.formats!.join(', ')})`;
  if (allowed.length < meta.formats.length && isFilesMeta(meta)) return `the receiver's peerRules allow only some of a files clip's formats, and files travel whole or not at all`;
  if (allowed.length < meta.formats.length && meta.size > inMemoryBytes) return `only some of the clip's formats are allowed by the receiver's peerRules, and a clip this large is taken whole or not at all`;
  const size = allowed.reduce((sum, f) => sum + f.size, 0);
  if (rules.maxBytes !== null && size > rules.maxBytes) return `${size} bytes is over the receiver's peerRules maxBytes ${rules.maxBytes} for this peer`;
  return undefined;
}

/** A received clip as it is applied: only the formats `peer`'s rules allow (declineReason made sure some are, in memory). */
export function receivedFromPeer(gate: SyncGate | undefined, peer: PeerRef, clip: Clip): Clip {
  if (gate === undefined) return clip;
  const narrowed = narrow(clip, gate.rules(peer));
  return 'clip' in narrowed ? narrowed.clip : clip;
}

/** The clip with only the formats the rules allow: itself when all are, a new clip when some are. */
function narrow(clip: Clip, rules: EffectiveRules): { clip: Clip } | { why: string } {
  if (rules.formats === null) return { clip };
  const keep = clip.formats.map((f, i) => ({ f, i })).filter(({ f }) => formatAllowed(rules.formats, f.mime));
  if (keep.length === clip.formats.length) return { clip };
  if (keep.length === 0) return { why: `none of its formats (${clip.formats.map((f) => f.mime).join(', ')}) is allowed by peerRules "${rules.matched}" (${rules.formats.join(', ')})` };
  if (clip.data === undefined) return { why: `only some of its formats are allowed by peerRules "${rules.matched}", and a clip kept on disk (a large clip, or files) travels whole or not at all` };
  const offsets = formatOffsets(clip.formats);
  const parts = keep.map(({ f, i }) => ({ mime: f.mime, data: clip.data!.subarray(offsets[i], offsets[i]! + f.size) }));
  const { id, leaves, formats, mime, size, data } = assembleClip(parts);
  return { clip: { id, leaves, formats, mime, size, data, ts: clip.ts, origin: clip.origin } };
}
