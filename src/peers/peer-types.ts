/** Connection states shown by `clipsync peers`; part of the CLI contract. */
export type PeerState = 'connecting' | 'authenticating' | 'connected' | 'backoff' | 'disconnected' | 'refused' | 'untrusted';

/** One entry of `clipsync peers --json`. */
export interface PeerInfo {
  fingerprint: string | null;
  name: string | null;
  address: string | null;
  state: PeerState;
  /** When the peer entered this state (ISO 8601). */
  since: string;
  /** Which side dialed the live connection, when connected. */
  direction: 'outbound' | 'inbound' | null;
  /** Failed dials since the last good connection. */
  attempt: number;
  /** Milliseconds until the next dial, when one is scheduled. */
  nextRetryMs: number | null;
  lastError: string | null;
  /** Round-trip time of the last heartbeat on the live connection, in ms. */
  rttMs: number | null;
  /** Seen on the LAN by mDNS (and still there). */
  discovered: boolean;
}
