import type { DialTarget } from './dial-target.js';
import type { PeerRecord } from './peer-table.js';
import type { PeerInfo, PeerState } from './peer-types.js';

/** A peer seen by mDNS whose key is not trusted: listed so the user can pair with it. */
export interface UntrustedSighting {
  name: string;
  address: string;
  since: number;
}

/**
 * The rows of `clipsync peers`: one per known key (its live connection or its best dial
 * target), then dial targets whose key is not known yet, then untrusted keys seen by mDNS.
 */
export function listPeers(
  byKey: ReadonlyMap<string, PeerRecord>,
  targets: readonly DialTarget[],
  untrustedSeen: ReadonlyMap<string, UntrustedSighting>,
  now: number,
): PeerInfo[] {
  const out: PeerInfo[] = [];
  const shown = new Set<DialTarget>();
  const shownKeys = new Set<string>();
  for (const record of byKey.values()) {
    shownKeys.add(record.fingerprint);
    const own = targets.filter((t) => t.fingerprint === record.fingerprint);
    own.forEach((t) => shown.add(t));
    const live = record.connection?.isOpen === true;
    const active = live ? undefined : own.find((t) => t.state !== 'idle');
    out.push({
      fingerprint: record.fingerprint,
      name: record.name,
      address: own[0]?.address ?? record.address,
      state: live ? 'connected' : active !== undefined ? targetState(active) : record.state,
      since: new Date(active?.since ?? record.since).toISOString(),
      direction: live ? (record.connection!.role === 'initiator' ? 'outbound' : 'inbound') : null,
      attempt: active?.attempt ?? 0,
      nextRetryMs: active?.nextRetryAt !== undefined ? Math.max(0, active.nextRetryAt - now) : null,
      lastError: active?.lastError ?? record.lastError ?? null,
      rttMs: live ? (record.connection!.rttMs ?? null) : null,
      discovered: own.some((t) => t.source === 'mdns') || untrustedSeen.has(record.fingerprint),
    });
  }
  for (const target of targets) {
    if (shown.has(target)) continue;
    if (target.fingerprint !== undefined) shownKeys.add(target.fingerprint);
    out.push({
      fingerprint: target.fingerprint ?? null,
      name: target.name ?? null,
      address: target.address,
      state: targetState(target),
      since: new Date(target.since).toISOString(),
      direction: null,
      attempt: target.attempt,
      nextRetryMs: target.nextRetryAt !== undefined ? Math.max(0, target.nextRetryAt - now) : null,
      lastError: target.lastError ?? null,
      rttMs: null,
      discovered: target.source === 'mdns',
    });
  }
  for (const [fingerprint, seen] of untrustedSeen) {
    if (byKey.get(fingerprint)?.connection?.isOpen === true || shownKeys.has(fingerprint)) continue;
    out.push({
      fingerprint,
      name: seen.name,
      address: seen.address,
      state: 'untrusted',
      since: new Date(seen.since).toISOString(),
      direction: null,
      attempt: 0,
      nextRetryMs: null,
      lastError: null,
      rttMs: null,
      discovered: true,
    });
  }
  return out;
}

function targetState(target: DialTarget): PeerState {
  return target.state === 'idle' ? 'disconnected' : target.state;
}
