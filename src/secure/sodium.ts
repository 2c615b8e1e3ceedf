import sodium from 'sodium-native';

/**
 * The channel's wrapper around sodium-native: key exchange, randomness, transcript hashing and
 * wiping secrets. (Content ids are hashed in content/content-hash.ts: they belong to clips.)
 */

export function randomBytes(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  sodium.randombytes_buf(out);
  return out;
}

export const HASH_BYTES = 32;

/** BLAKE2b-256 over the concatenation of `parts`: handshake transcripts, pairing commitments. */
export function hash(...parts: Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(HASH_BYTES);
  sodium.crypto_generichash_batch(out, parts);
  return out;
}

export interface KxKeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

export const KX_PUBLIC_KEY_BYTES = sodium.crypto_kx_PUBLICKEYBYTES;

/**
 * Secrets live in ordinary buffers that are wiped once used. sodium_malloc's guard pages
 * would cost several memory mappings per handshake, released only by the garbage
 * collector: a flood of half-open connections could exhaust the process's mappings.
 */
export function kxKeyPair(): KxKeyPair {
  const publicKey = Buffer.alloc(sodium.crypto_kx_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_kx_SECRETKEYBYTES);
  sodium.crypto_kx_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

export interface SessionKeys {
  /** Key for what this side receives. */
  rx: Buffer;
  /** Key for what this side sends. */
  tx: Buffer;
}

/** X25519 key exchange (crypto_kx): the initiator plays the client, the responder the server. */
export function kxSessionKeys(role: 'initiator' | 'responder', own: KxKeyPair, peerPublicKey: Buffer): SessionKeys {
  const rx = Buffer.alloc(sodium.crypto_kx_SESSIONKEYBYTES);
  const tx = Buffer.alloc(sodium.crypto_kx_SESSIONKEYBYTES);
  if (role === 'initiator') sodium.crypto_kx_client_session_keys(rx, tx, own.publicKey, own.secretKey, peerPublicKey);
  else sodium.crypto_kx_server_session_keys(rx, tx, own.publicKey, own.secretKey, peerPublicKey);
  return { rx, tx };
}

/** Overwrites secret material once it is no longer needed. */
export function wipe(buffer: Buffer): void {
  sodium.sodium_memzero(buffer);
}
