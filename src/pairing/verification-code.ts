import { hash } from '../secure/sodium.js';

/**
 * The numbers both users compare, as in Bluetooth's numeric comparison. A code made from the
 * two keys alone could be matched by a man in the middle who grinds keys offline (a million
 * tries is seconds of work, and the keys are public in mDNS), so each side also adds a
 * fresh nonce, and the responder commits to its nonce before it sees the initiator's
 * (docs/PROTOCOL.md §9.2): whoever sits in the middle must fix its choices before learning
 * the code it would have to hit, and hits it with probability one in a million.
 */

const CODE_LABEL = Buffer.from('clipsync pairing code v1');
const COMMIT_LABEL = Buffer.from('clipsync pairing commit v1');
export const PAIRING_NONCE_BYTES = 32;
export const CODE_DIGITS = 6;
const CODE_MODULUS = 10n ** BigInt(CODE_DIGITS);

/** One side of a pairing: its SSH key blob and the nonce it contributed. */
export interface PairingParty {
  key: Buffer;
  nonce: Buffer;
}

/**
 * The 6-digit code for two parties. Sorted by key blob, so both sides compute it alike
 * whichever of them is "a"; any other key or nonce gives an unrelated code.
 */
export function verificationCode(a: PairingParty, b: PairingParty): string {
  const [first, second] = Buffer.compare(a.key, b.key) <= 0 ? [a, b] : [b, a];
  const digest = hash(CODE_LABEL, ...lengthPrefixed(first.key), ...lengthPrefixed(second.key), first.nonce, second.nonce);
  // 64 bits reduced mod 10^6: the bias (2^64 mod 10^6 out of 2^64) is far below one in a million.
  return (digest.readBigUInt64BE(0) % CODE_MODULUS).toString().padStart(CODE_DIGITS, '0');
}

/**
 * The responder's commitment to its nonce, bound to both keys in initiator-then-responder
 * order so it cannot be replayed into another pairing.
 */
export function nonceCommitment(initiatorKey: Buffer, responderKey: Buffer, responderNonce: Buffer): Buffer {
  return hash(COMMIT_LABEL, ...lengthPrefixed(initiatorKey), ...lengthPrefixed(responderKey), responderNonce);
}

function lengthPrefixed(buffer: Buffer): [Buffer, Buffer] {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(buffer.length, 0);
  return [length, buffer];
}
