import sodium from 'sodium-native';

/**
 * The content id: BLAKE2b-256 of a clip's bytes, unkeyed. It names a clip for dedupe, for the
 * spool's file names and for the receiver's check that every byte arrived intact. It lives
 * apart from the channel's cryptography (secure/) because it is a property of the clip, not
 * of a connection: sync, the spool and the hashing thread use it, and it may change (a
 * protocol version) without touching the handshake.
 */

/** sodium-native 5 has streaming generichash as init/update/final; its published types predate that. */
const generichash = sodium as unknown as {
  crypto_generichash_STATEBYTES: number;
  crypto_generichash_init(state: Buffer, key: Buffer | null, outputLength: number): void;
  crypto_generichash_update(state: Buffer, input: Buffer): void;
  crypto_generichash_final(state: Buffer, output: Buffer): void;
};

export const CONTENT_HASH_BYTES = 32;

/** The content hash of bytes held whole in memory. */
export function contentHash(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(CONTENT_HASH_BYTES);
  sodium.crypto_generichash(out, data);
  return out;
}

/** The content hash of bytes that arrive in chunks: feed them in order, then `digest` once. */
export class StreamingHash {
  private readonly state = Buffer.alloc(generichash.crypto_generichash_STATEBYTES);
  constructor() {
    generichash.crypto_generichash_init(this.state, null, CONTENT_HASH_BYTES);
  }
  update(chunk: Buffer): void {
    generichash.crypto_generichash_update(this.state, chunk);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(CONTENT_HASH_BYTES);
    generichash.crypto_generichash_final(this.state, out);
    return out;
  }
}
