import sodiumNative from 'sodium-native';
import { CloseCode, ProtocolViolation } from '../protocol/close-codes.js';

/** sodium-native has the IETF ChaCha20-Poly1305 AEAD; its published types leave it out. */
const sodium = sodiumNative as typeof sodiumNative & {
  crypto_aead_chacha20poly1305_ietf_ABYTES: number;
  crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number;
  crypto_aead_chacha20poly1305_ietf_KEYBYTES: number;
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Buffer, m: Buffer, ad: Buffer | null, nsec: null, npub: Buffer, k: Buffer): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
};

/**
 * The encrypted channel: ChaCha20-Poly1305 (IETF) with a per-direction key from the X25519
 * exchange and a 64-bit message counter as the nonce. The receiver expects counter n for the
 * n-th message, so a replayed, reordered, dropped or altered message fails to open. Both
 * sides rekey at the same message, decided by counts they both see, so no signal is needed.
 *
 * Chosen over crypto_secretstream (same cipher and MAC, same speed on one core; see
 * docs/BENCHMARKS.md) because the IETF AEAD works in place: a frame is sealed in the buffer
 * it was encoded into and opened in the buffer it arrived in, with no second buffer per
 * message on either side.
 */
export const SEAL_OVERHEAD = sodium.crypto_aead_chacha20poly1305_ietf_ABYTES;
const NONCE_BYTES = sodium.crypto_aead_chacha20poly1305_ietf_NPUBBYTES;
const KEY_BYTES = sodium.crypto_aead_chacha20poly1305_ietf_KEYBYTES;

/**
 * Rekey after this many messages or bytes in one direction, whichever comes first. Far below
 * the AEAD's limits; the point is that a key recovered from memory later opens only a bounded
 * slice of the stream (the handshake's ephemeral secrets are wiped once used).
 */
export const REKEY_AFTER_MESSAGES = 1 << 16;
export const REKEY_AFTER_BYTES = 1 << 30;
const REKEY_LABEL = Buffer.from('clipsync rekey v1');

/** Counter, key and rekey bookkeeping shared by both directions. */
class Direction {
  protected readonly key = Buffer.alloc(KEY_BYTES);
  protected readonly nonce = Buffer.alloc(NONCE_BYTES);
  private counter = 0n;
  private messages = 0;
  private bytes = 0;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new RangeError('channel key must be 32 bytes');
    key.copy(this.key);
  }

  /** Zeroes the key when the connection ends, rather than leaving it for the garbage collector. */
  dispose(): void {
    sodium.sodium_memzero(this.key);
  }

  /** The nonce for the next message: 4 zero bytes, then the counter little-endian. */
  protected nextNonce(): Buffer {
    this.nonce.writeBigUInt64LE(this.counter, 4);
    return this.nonce;
  }

  /**
   * Called after a message was sealed or opened successfully (a failed open leaves the
   * counter where it was); both sides reach the same rekey decision from the same sizes.
   */
  protected account(length: number): void {
    this.counter++;
    this.messages++;
    this.bytes += length;
    if (this.messages < REKEY_AFTER_MESSAGES && this.bytes < REKEY_AFTER_BYTES) return;
    const next = Buffer.alloc(KEY_BYTES);
    sodium.crypto_generichash(next, REKEY_LABEL, this.key);
    next.copy(this.key);
    sodium.sodium_memzero(next);
    this.messages = 0;
    this.bytes = 0;
  }
}

/** Encrypts what this side sends. */
export class Sealer extends Direction {
  /** Encrypts `length` bytes at the start of `buffer` in place; the last 16 bytes receive the tag. */
  sealInPlace(buffer: Buffer): Buffer {
    const plainLength = buffer.length - SEAL_OVERHEAD;
    if (plainLength < 0) throw new RangeError('buffer has no room for the tag');
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(buffer, buffer.subarray(0, plainLength), null, null, this.nextNonce(), this.key);
    this.account(buffer.length);
    return buffer;
  }

  /** Encrypts a copy of `plaintext` into a new buffer. */
  seal(plaintext: Buffer): Buffer {
    const buffer = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD);
    plaintext.copy(buffer);
    return this.sealInPlace(buffer);
  }
}

/** Decrypts what the peer sends; anything but the next message, intact, is refused. */
export class Opener extends Direction {
  /** Decrypts in place (the buffer must be this side's own) and returns the plaintext view. */
  openInPlace(ciphertext: Buffer): Buffer {
    if (ciphertext.length < SEAL_OVERHEAD) throw decryptFailure();
    const plaintext = ciphertext.subarray(0, ciphertext.length - SEAL_OVERHEAD);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, null, ciphertext, null, this.nextNonce(), this.key);
    } catch {
      throw decryptFailure();
    }
    this.account(ciphertext.length);
    return plaintext;
  }

  /** Decrypts without touching `ciphertext`. */
  open(ciphertext: Buffer): Buffer {
    return this.openInPlace(Buffer.from(ciphertext));
  }
}

function decryptFailure(): ProtocolViolation {
  return new ProtocolViolation(CloseCode.decryptFailed, 'a frame failed to decrypt (tampered, replayed, reordered or cut)');
}
