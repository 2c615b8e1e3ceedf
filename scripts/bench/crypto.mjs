// Single-core speed of the channel's AEAD on 256 KiB messages, beside libsodium's
// secretstream (the suggested construction), the content-id hash and a plain memcpy.
import sodium from 'sodium-native';
import { Opener, Sealer, SEAL_OVERHEAD } from '../../dist/secure/channel.js';
import { LeafHasher } from '../../dist/content/content-hash.js';

const CHUNK = 256 * 1024;
const ROUNDS = 1500;
const OPEN_ROUNDS = 400;

function rate(fn) {
  for (let i = 0; i < 50; i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn(i);
  return (ROUNDS * CHUNK) / (Number(process.hrtime.bigint() - start) / 1e9);
}

export function benchCrypto() {
  const key = Buffer.alloc(32, 7);
  const chunk = Buffer.alloc(CHUNK, 1);
  const sealer = new Sealer(key);
  const frame = Buffer.alloc(CHUNK + SEAL_OVERHEAD);
  const sealed = rate(() => {
    chunk.copy(frame);
    sealer.sealInPlace(frame);
  });
  // Opening needs messages in sealing order; seal a small batch (warm in cache, as a message
  // just read from the socket is), then time only the opens.
  const opener = new Opener(key);
  const feed = new Sealer(key);
  let openNs = 0n;
  for (let batch = 0; batch < OPEN_ROUNDS / 8; batch++) {
    const messages = Array.from({ length: 8 }, () => feed.seal(chunk));
    const start = process.hrtime.bigint();
    for (const message of messages) opener.openInPlace(message);
    openNs += process.hrtime.bigint() - start;
  }
  const opened = (OPEN_ROUNDS * CHUNK) / (Number(openNs) / 1e9);
  // The baseline: the same open with libsodium, which the channel used for every message
  // before large ones went to OpenSSL (secure/channel.ts).
  const nonce = Buffer.alloc(12);
  const reference = Buffer.alloc(CHUNK + SEAL_OVERHEAD);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(reference, chunk, null, null, nonce, key);
  let sodiumNs = 0n;
  for (let batch = 0; batch < OPEN_ROUNDS / 8; batch++) {
    const messages = Array.from({ length: 8 }, () => Buffer.from(reference));
    const start = process.hrtime.bigint();
    for (const message of messages) sodium.crypto_aead_chacha20poly1305_ietf_decrypt(message.subarray(0, CHUNK), null, message, null, nonce, key);
    sodiumNs += process.hrtime.bigint() - start;
  }
  const sodiumOpened = (OPEN_ROUNDS * CHUNK) / (Number(sodiumNs) / 1e9);
  const state = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  const header = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  sodium.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
  const out = Buffer.alloc(CHUNK + sodium.crypto_secretstream_xchacha20poly1305_ABYTES);
  const secretstream = rate(() => sodium.crypto_secretstream_xchacha20poly1305_push(state, out, chunk, null, 0));
  // The content id every received byte is checked against: BLAKE3 leaf hashes, streaming,
  // beside the BLAKE2b stream protocol 2 used (the baseline this change replaced).
  const leaves = new LeafHasher();
  const blake3 = rate(() => leaves.update(chunk));
  const hashState = Buffer.alloc(sodium.crypto_generichash_STATEBYTES);
  sodium.crypto_generichash_init(hashState, null, 32);
  const blake2b = rate(() => sodium.crypto_generichash_update(hashState, chunk));
  const copyTarget = Buffer.alloc(CHUNK);
  const memcpy = rate(() => chunk.copy(copyTarget));
  return { chunk: CHUNK, rows: [
    { what: 'memcpy (baseline)', rate: memcpy },
    { what: 'channel seal in place (ChaCha20-Poly1305 IETF)', rate: sealed },
    { what: 'channel open in place (OpenSSL from 64 KiB)', rate: opened },
    { what: 'baseline: libsodium open in place (the same AEAD)', rate: sodiumOpened },
    { what: 'crypto_secretstream_xchacha20poly1305 push', rate: secretstream },
    { what: 'BLAKE3 leaf hashes, the content id since protocol 3 (@napi-rs/blake-hash)', rate: blake3, key: 'blake3' },
    { what: 'baseline: BLAKE2b-256 stream, the content id of protocol 2 (crypto_generichash update)', rate: blake2b, key: 'blake2b' },
  ], sealed, opened, blake2b, blake3 };
}
