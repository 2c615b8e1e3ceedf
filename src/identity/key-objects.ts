import { verify, type KeyObject } from 'node:crypto';

/**
 * Signing and verifying through Node key objects made once per key (identity.ts,
 * public-key.ts), never from a PEM string per call: for an RSA-3072 identity that parse cost
 * more than the signature, a third of a handshake's CPU.
 */

/** The digest an SSH key type signs with (RFC 5656 for ECDSA; Ed25519 hashes internally). */
export function digestForKeyType(type: string): string | null {
  switch (type) {
    case 'ecdsa-sha2-nistp256':
      return 'sha256';
    case 'ecdsa-sha2-nistp384':
      return 'sha384';
    case 'ecdsa-sha2-nistp521':
      return 'sha512';
    case 'ssh-rsa':
      return 'sha512'; // clipsync signs rsa-sha2-512; verification picks by algorithm
    default:
      return null;
  }
}

export function verifyWith(key: KeyObject, digest: string | null, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(digest, data, key, signature);
  } catch {
    return false; // a malformed signature is a failed verification, not a crash
  }
}
