import sodium from 'sodium-native';

/** sodium-native 5 has streaming generichash as init/update/final; its published types predate that. */
const generichash = sodium as unknown as {
  crypto_generichash_STATEBYTES: number;
  crypto_generichash_init(state: Buffer, key: Buffer | null, outputLength: number): void;
  crypto_generichash_update(state: Buffer, input: Buffer): void;
  crypto_generichash_final(state: Buffer, output: Buffer): void;
};

/** The one wrapper around sodium-native: every primitive clipsync uses goes through here. */

export function randomBytes(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  sodium.randombytes_buf(out);
  return out;
}

export const HASH_BYTES = 32;

/** BLAKE2b-256 over the concatenation of `parts`. */
export function hash(...parts: Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(HASH_BYTES);
  sodium.crypto_generichash_batch(out, parts);
  return out;
}

/** Incremental BLAKE2b-256, for content ids of clips that arrive in chunks. */
export class StreamingHash {
  private readonly state = Buffer.alloc(generichash.crypto_generichash_STATEBYTES);
  constructor() {
    generichash.crypto_generichash_init(this.state, null, HASH_BYTES);
  }
  update(chunk: Buffer): void {
    generichash.crypto_generichash_update(this.state, chunk);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(HASH_BYTES);
    generichash.crypto_generichash_final(this.state, out);
    return out;
  }
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
