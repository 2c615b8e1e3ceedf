import type { PublicKey } from '../identity/public-key.js';

/** A clipsync daemon seen on the LAN. A hint for the dialer: the handshake proves the key. */
export interface DiscoveredPeer {
  /** `SHA256:…` as ssh-keygen -lf prints it, from the TXT record. */
  fingerprint: string;
  /** The device name from the TXT record (checked: no control or bidi characters, ≤ 63 bytes). */
  name: string;
  /** The protocol version the peer advertises (`v`). */
  version: number;
  /** Where to dial: IPv4 first, then IPv6, sorted; never empty, never loopback or link-local. */
  addresses: string[];
  /** The TCP port from the SRV record. */
  port: number;
  /** The key itself when the peer advertised it (ed25519/ecdsa); verified against `fingerprint`. */
  publicKey?: PublicKey;
  /** All TXT entries (keys lower-cased), unknown ones included. */
  txt: Readonly<Record<string, string>>;
  /** The DNS-SD instance name and SRV target the peer uses. */
  instance: string;
  host: string;
}

/** Why a peer is no longer listed. */
export type DownReason =
  /** It said goodbye (records with TTL 0: a clean stop, or an address it dropped). */
  | 'goodbye'
  /** Its records reached the end of their TTL unanswered: it crashed or left the network. */
  | 'expired'
  /** Its records changed into something we do not list (an invalid TXT record, no address). */
  | 'withdrawn';

export type DiscoveryChange =
  | { type: 'up'; peer: DiscoveredPeer }
  | { type: 'update'; peer: DiscoveredPeer; previous: DiscoveredPeer }
  | { type: 'down'; peer: DiscoveredPeer; reason: DownReason };

/** What a change event compares: everything the dialer or `peers` might show. */
function identityOf(peer: DiscoveredPeer): string {
  return JSON.stringify([
    peer.name,
    peer.version,
    peer.addresses,
    peer.port,
    peer.publicKey?.blob.toString('base64') ?? null,
    Object.entries(peer.txt).sort(([a], [b]) => (a < b ? -1 : 1)),
    peer.instance,
    peer.host,
  ]);
}

/** The events that turn the `before` listing into `after`, keyed by fingerprint. */
export function diffPeers(
  before: ReadonlyMap<string, DiscoveredPeer>,
  after: ReadonlyMap<string, DiscoveredPeer>,
  reason: DownReason,
): DiscoveryChange[] {
  const changes: DiscoveryChange[] = [];
  for (const [fingerprint, peer] of before) {
    if (!after.has(fingerprint)) changes.push({ type: 'down', peer, reason });
  }
  for (const [fingerprint, peer] of after) {
    const previous = before.get(fingerprint);
    if (previous === undefined) changes.push({ type: 'up', peer });
    else if (identityOf(previous) !== identityOf(peer)) changes.push({ type: 'update', peer, previous });
  }
  return changes;
}
