import type { Role } from '../secure/handshake.js';

/**
 * Both sides dialed each other at once and both connections authenticated: each side must
 * close the same one, or each would close the connection the other kept. Both sides keep
 * the connection dialed by the smaller fingerprint, which they can each work out alone.
 *
 * `newRole` is this side's role on the connection that just authenticated; true means it
 * wins over the connection already live.
 */
export function keepsNewConnection(newRole: Role, ownFingerprint: string, peerFingerprint: string): boolean {
  const dialedBy = newRole === 'initiator' ? ownFingerprint : peerFingerprint;
  return dialedBy === preferredInitiator(ownFingerprint, peerFingerprint);
}

/** Both sides keep the connection dialed by the smaller fingerprint. */
function preferredInitiator(ownFingerprint: string, peerFingerprint: string): string {
  return ownFingerprint < peerFingerprint ? ownFingerprint : peerFingerprint;
}
