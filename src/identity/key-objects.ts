import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Signing and verifying through Node key objects made once per key. ssh2's own sign and
 * verify hand Node a PEM string every time, which Node parses again on every call: for an
 * RSA-3072 identity that parse costs more than the signature, and it came to a third of a
 * handshake's CPU.
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

export function privateKeyObject(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function publicKeyObject(pem: string): KeyObject {
  return createPublicKey(pem);
}

/** A raw signature: DER for ECDSA (as Node makes it), PKCS#1 v1.5 for RSA, 64 bytes for Ed25519. */
export function signWith(key: KeyObject, digest: string | null, data: Buffer): Buffer {
  return sign(digest, data, key);
}

export function verifyWith(key: KeyObject, digest: string | null, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(digest, data, key, signature);
  } catch {
    return false; // a malformed signature is a failed verification, not a crash
  }
}
