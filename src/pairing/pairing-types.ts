import type { PairingState } from './pairing-session.js';

/** A peer `clipsync pair` offers: seen by mDNS, key not trusted. Part of the CLI contract. */
export interface PairCandidate {
  name: string;
  fingerprint: string;
  address: string;
}

/** One pairing request, either way (`clipsync pair --pending --json`). Part of the CLI contract. */
export interface PairingInfo {
  fingerprint: string;
  /** The name the peer announced in its HELLO: what it will be trusted as. */
  name: string;
  /** Where it was dialed (outbound) or where it connected from (inbound). */
  address: string;
  direction: 'outbound' | 'inbound';
  state: PairingState;
  /** The 6-digit verification code, once known (`exchanging` has none yet). */
  code: string | null;
  acceptedHere: boolean;
  acceptedByPeer: boolean;
  /** Whole seconds until the request expires; 0 once it has ended. */
  expiresInSec: number;
  /** Why it ended, for `rejected`, `expired` and `failed`. */
  detail: string | null;
}
