import sodium from 'sodium-native';
import { CloseCode, ProtocolViolation } from '../protocol/close-codes.js';

/** sodium-native 5's secretstream takes numeric tags; its published types predate that. */
const ss = sodium as unknown as {
  crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
  crypto_secretstream_xchacha20poly1305_HEADERBYTES: number;
  crypto_secretstream_xchacha20poly1305_ABYTES: number;
  crypto_secretstream_xchacha20poly1305_TAG_MESSAGE: number;
  crypto_secretstream_xchacha20poly1305_TAG_REKEY: number;
  crypto_secretstream_xchacha20poly1305_init_push(state: Buffer, header: Buffer, key: Buffer): void;
  crypto_secretstream_xchacha20poly1305_init_pull(state: Buffer, header: Buffer, key: Buffer): void;
  crypto_secretstream_xchacha20poly1305_push(state: Buffer, c: Buffer, m: Buffer, ad: Buffer | null, tag: number): number;
  crypto_secretstream_xchacha20poly1305_pull(state: Buffer, m: Buffer, tag: Buffer, c: Buffer, ad: Buffer | null): number;
};

export const STREAM_HEADER_BYTES = ss.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
export const SEAL_OVERHEAD = ss.crypto_secretstream_xchacha20poly1305_ABYTES;

/**
 * Both directions rekey after this many messages or bytes, whichever comes first. Far below
 * the limits of XChaCha20-Poly1305; the point is that a key recovered from memory later
 * opens only a bounded slice of the stream (the handshake keys are wiped once used).
 */
export const REKEY_AFTER_MESSAGES = 1 << 16;
export const REKEY_AFTER_BYTES = 1 << 30;

/** Sealing side: one secretstream per direction, keyed from the X25519 exchange. */
export class Sealer {
  readonly header = Buffer.allocUnsafe(STREAM_HEADER_BYTES);
  private readonly state = sodium.sodium_malloc(ss.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  private messages = 0;
  private bytes = 0;

  constructor(key: Buffer) {
    ss.crypto_secretstream_xchacha20poly1305_init_push(this.state, this.header, key);
  }

  /** Encrypts one message. The returned buffer is new: ws keeps it until it is written. */
  seal(plaintext: Buffer): Buffer {
    this.messages++;
    this.bytes += plaintext.length;
    let tag = ss.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    if (this.messages >= REKEY_AFTER_MESSAGES || this.bytes >= REKEY_AFTER_BYTES) {
      // The REKEY tag is authenticated; both sides derive the next key after this message.
      tag = ss.crypto_secretstream_xchacha20poly1305_TAG_REKEY;
      this.messages = 0;
      this.bytes = 0;
    }
    const out = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD);
    ss.crypto_secretstream_xchacha20poly1305_push(this.state, out, plaintext, null, tag);
    return out;
  }
}

/** Opening side: any tampered, replayed, reordered or truncated message fails here. */
export class Opener {
  private readonly state = sodium.sodium_malloc(ss.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  private readonly tag = Buffer.alloc(1);

  constructor(key: Buffer, header: Buffer) {
    if (header.length !== STREAM_HEADER_BYTES) throw decryptFailure();
    ss.crypto_secretstream_xchacha20poly1305_init_pull(this.state, header, key);
  }

  open(ciphertext: Buffer): Buffer {
    if (ciphertext.length < SEAL_OVERHEAD) throw decryptFailure();
    const out = Buffer.allocUnsafe(ciphertext.length - SEAL_OVERHEAD);
    try {
      ss.crypto_secretstream_xchacha20poly1305_pull(this.state, out, this.tag, ciphertext, null);
    } catch {
      throw decryptFailure();
    }
    return out;
  }
}

function decryptFailure(): ProtocolViolation {
  return new ProtocolViolation(CloseCode.decryptFailed, 'a frame failed to decrypt (tampered, replayed, reordered or cut)');
}
