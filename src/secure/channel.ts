import { createDecipheriv } from 'node:crypto';
import sodiumNative from 'sodium-native';
import { CloseCode, ProtocolViolation } from '../wire/close-codes.js';

/** sodium-native has the IETF ChaCha20-Poly1305 AEAD; its published types leave it out. */
const sodium = sodiumNative as typeof sodiumNative & {
  crypto_aead_chacha20poly1305_ietf_ABYTES: number;
  crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number;
  crypto_aead_chacha20poly1305_ietf_KEYBYTES: number;
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Buffer, m: Buffer, ad: Buffer | null, nsec: null, npub: Buffer, k: Buffer): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
  crypto_stream_chacha20_ietf(c: Buffer, n: Buffer, k: Buffer): void;
  crypto_stream_chacha20_ietf_xor_ic(c: Buffer, m: Buffer, n: Buffer, ic: number, k: Buffer): void;
  crypto_onetimeauth_STATEBYTES: number;
  crypto_onetimeauth_init(state: Buffer, k: Buffer): void;
  crypto_onetimeauth_update(state: Buffer, m: Buffer): void;
  crypto_onetimeauth_final(state: Buffer, out: Buffer): void;
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
 *
 * A large message is opened by OpenSSL (node's crypto) instead: the same AEAD, byte for byte,
 * whose vectorised ChaCha20 and Poly1305 take about half of libsodium's time in the receiving
 * daemon, where decryption is the largest single cost of a large clip (docs/BENCHMARKS.md).
 * Sealing stays with libsodium: node's cipher hands back every piece in a fresh buffer, and on
 * the sending side, where little else allocates, those buffers outran the garbage collector
 * and cost a page fault per 4 KiB sent, twice the time the faster cipher saved.
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

/** From this many bytes a message is opened by OpenSSL; below, libsodium's single call is cheaper than a cipher context. */
export const OPENSSL_OPEN_MIN_BYTES = 64 * 1024;
/**
 * CLIPSYNC_OPEN_LARGE_WITH=libsodium opens every message with libsodium, as before: for a
 * machine whose OpenSSL is slower here, and for the benchmark that measures the two side by
 * side (scripts/bench/files.mjs). Read once, when the daemon starts.
 */
const OPEN_LARGE_WITH_OPENSSL = process.env['CLIPSYNC_OPEN_LARGE_WITH'] !== 'libsodium';
/**
 * OpenSSL is fed this much at a time: node allocates each piece's output, and pieces this
 * size come from malloc's heap and are still in cache as they are copied back in place, where
 * a whole frame's output would be a fresh megabyte to fault in.
 */
const OPENSSL_PIECE_BYTES = 64 * 1024;

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

  /** The counter of the next message; tests compare sealing paths at equal counters. */
  get nextCounter(): bigint {
    return this.counter;
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

/** ChaCha20 works in 64-byte blocks; a frame body that starts on a block boundary can be encrypted on its own. */
export const CHACHA_BLOCK_BYTES = 64;

/** Encrypts what this side sends. */
export class Sealer extends Direction {
  private readonly polyKey = Buffer.alloc(32);
  private readonly polyState = Buffer.alloc(sodium.crypto_onetimeauth_STATEBYTES);
  private readonly polyTail = Buffer.alloc(16 + 16);

  /**
   * Seals a frame whose first `headLength` bytes are already in `out` and whose body is
   * still elsewhere: the body is encrypted straight from `body` into `out`, so a chunk of a
   * clip is read once and written once instead of copied and then encrypted in place.
   *
   * The output is byte for byte what `sealInPlace` makes of head || body (RFC 8439
   * ChaCha20-Poly1305, empty associated data), so the receiver opens it with the one-shot
   * AEAD: block 0 of the keystream keys Poly1305, the head is encrypted from block 1, and
   * the body from block 1 + headLength / 64, which is why the head must fill whole blocks.
   * `out` is head, then room for the body, then room for the tag.
   */
  sealFrame(out: Buffer, headLength: number, body: Buffer): Buffer {
    if (headLength % CHACHA_BLOCK_BYTES !== 0) throw new RangeError('frame head must be a whole number of ChaCha20 blocks');
    const plainLength = headLength + body.length;
    if (out.length !== plainLength + SEAL_OVERHEAD) throw new RangeError('output buffer must hold head, body and tag');
    const nonce = this.nextNonce();
    sodium.crypto_stream_chacha20_ietf(this.polyKey, nonce, this.key);
    const head = out.subarray(0, headLength);
    sodium.crypto_stream_chacha20_ietf_xor_ic(head, head, nonce, 1, this.key);
    sodium.crypto_stream_chacha20_ietf_xor_ic(out.subarray(headLength, plainLength), body, nonce, 1 + headLength / CHACHA_BLOCK_BYTES, this.key);
    // Poly1305 over ciphertext || zero padding to 16 || le64(AD length = 0) || le64(ciphertext length).
    const state = this.polyState;
    sodium.crypto_onetimeauth_init(state, this.polyKey);
    sodium.crypto_onetimeauth_update(state, out.subarray(0, plainLength));
    const padding = (16 - (plainLength % 16)) % 16;
    const tail = this.polyTail.fill(0);
    tail.writeUInt32LE(plainLength >>> 0, padding + 8);
    tail.writeUInt32LE(Math.floor(plainLength / 2 ** 32), padding + 12);
    sodium.crypto_onetimeauth_update(state, tail.subarray(0, padding + 16));
    sodium.crypto_onetimeauth_final(state, out.subarray(plainLength));
    sodium.sodium_memzero(this.polyKey);
    this.account(out.length);
    return out;
  }

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
    if (OPEN_LARGE_WITH_OPENSSL && plaintext.length >= OPENSSL_OPEN_MIN_BYTES) {
      this.openLarge(ciphertext, plaintext);
    } else {
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, null, ciphertext, null, this.nextNonce(), this.key);
      } catch {
        throw decryptFailure();
      }
    }
    this.account(ciphertext.length);
    return plaintext;
  }

  /**
   * OpenSSL decrypts as it goes and checks the tag at the end, so the buffer holds unverified
   * plaintext until then: on a bad tag it is wiped before the error is thrown, and nothing
   * unverified is ever returned. The key is copied into a cipher context that OpenSSL clears
   * when it frees it.
   */
  private openLarge(ciphertext: Buffer, plaintext: Buffer): void {
    const decipher = createDecipheriv('chacha20-poly1305', this.key, this.nextNonce(), { authTagLength: SEAL_OVERHEAD });
    decipher.setAuthTag(ciphertext.subarray(plaintext.length));
    for (let at = 0; at < plaintext.length; at += OPENSSL_PIECE_BYTES) {
      decipher.update(plaintext.subarray(at, Math.min(plaintext.length, at + OPENSSL_PIECE_BYTES))).copy(plaintext, at);
    }
    try {
      decipher.final();
    } catch {
      plaintext.fill(0);
      throw decryptFailure();
    }
  }

  /** Decrypts without touching `ciphertext`. */
  open(ciphertext: Buffer): Buffer {
    return this.openInPlace(Buffer.from(ciphertext));
  }
}

function decryptFailure(): ProtocolViolation {
  return new ProtocolViolation(CloseCode.decryptFailed, 'a frame failed to decrypt (tampered, replayed, reordered or cut)');
}
