import sodiumNative from 'sodium-native';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { OPENSSL_OPEN_MIN_BYTES, REKEY_AFTER_MESSAGES, SEAL_OVERHEAD, Opener, Sealer } from '../../../src/secure/channel.js';
import { randomBytes } from '../../../src/secure/sodium.js';
import { channel } from '../_support/channel.js';
import { expectViolation } from '../_support/handshake.js';

/** The published sodium-native types leave out the IETF AEAD. */
const sodium = sodiumNative as unknown as {
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
};

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

function flipBit(buffer: Buffer, bit: number): Buffer {
  const out = Buffer.from(buffer);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('Sealer / Opener: round trips', () => {
  it.each<[string, number]>([
    ['empty', 0],
    ['1 byte', 1],
    ['300 KiB', 300 * 1024],
  ])('%s message seals and opens', (_label, size) => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const plaintext = randomBytes(size);
    const copy = Buffer.from(plaintext);
    const sealed = sealer.seal(plaintext);
    expect(sealed.length).toBe(size + SEAL_OVERHEAD);
    expect(plaintext.equals(copy)).toBe(true); // seal() leaves its input alone
    if (size > 64) expect(sealed.subarray(0, 64).equals(plaintext.subarray(0, 64))).toBe(false);
    const sealedCopy = Buffer.from(sealed);
    expect(opener.open(sealed).equals(plaintext)).toBe(true);
    expect(sealed.equals(sealedCopy)).toBe(true); // open() leaves its input alone
  });

  it('opens messages on both sides of the size where OpenSSL takes over from libsodium, in order, as libsodium opens them', () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const sizes = [OPENSSL_OPEN_MIN_BYTES - 1, OPENSSL_OPEN_MIN_BYTES, OPENSSL_OPEN_MIN_BYTES + 1, 100, 983_040 + 77, 0, 4 * OPENSSL_OPEN_MIN_BYTES];
    for (const size of sizes) {
      const plaintext = randomBytes(size);
      expect(opener.openInPlace(sealer.seal(plaintext)).equals(plaintext)).toBe(true);
    }
  });

  it('opens many messages of mixed sizes in order', () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const sizes = [0, 1, 15, 16, 17, 1000, 65_536, 0, 3];
    const plaintexts = sizes.map((n) => randomBytes(n));
    const sealed = plaintexts.map((p) => sealer.seal(p));
    expect(sealed.map((c) => opener.open(c))).toEqual(plaintexts);
  });

  it('sealInPlace / openInPlace work in the caller’s buffer and interoperate with seal / open', () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const message = text('in place, please');
    const buffer = Buffer.alloc(message.length + SEAL_OVERHEAD);
    message.copy(buffer);
    const sealed = sealer.sealInPlace(buffer);
    expect(sealed.buffer).toBe(buffer.buffer);
    expect(sealed.length).toBe(buffer.length);
    const opened = opener.openInPlace(Buffer.from(sealed));
    expect(opened.equals(message)).toBe(true);
    // Mixed: seal() then openInPlace(), and sealInPlace() then open().
    const second = sealer.seal(text('two'));
    const view = opener.openInPlace(second);
    expect(view.toString()).toBe('two');
    expect(view.buffer).toBe(second.buffer);
    const third = Buffer.alloc(5 + SEAL_OVERHEAD);
    third.write('three');
    expect(opener.open(sealer.sealInPlace(third)).toString()).toBe('three');
  });

  it('refuses to seal in place into a buffer with no room for the tag', () => {
    const { sealer } = channel();
    expect(() => sealer.sealInPlace(Buffer.alloc(SEAL_OVERHEAD - 1))).toThrow(RangeError);
  });

  it('refuses a key of the wrong length', () => {
    expect(() => new Sealer(Buffer.alloc(31))).toThrow(RangeError);
    expect(() => new Opener(Buffer.alloc(33))).toThrow(RangeError);
  });

  it('copies the key: wiping the caller’s key afterwards changes nothing', () => {
    const key = randomBytes(32);
    const sealer = new Sealer(key);
    const opener = new Opener(key);
    key.fill(0);
    expect(opener.open(sealer.seal(text('still works'))).toString()).toBe('still works');
  });

  it('equal plaintexts give different ciphertexts', () => {
    const { sealer } = channel();
    const a = sealer.seal(text('same'));
    const b = sealer.seal(text('same'));
    expect(a.equals(b)).toBe(false);
    // ...and two channels with different keys differ at the first message too.
    expect(channel().sealer.seal(text('same')).equals(channel().sealer.seal(text('same')))).toBe(false);
  });
});

describe('Sealer / Opener: refusals (4008)', () => {
  it('a flipped bit anywhere in a small message', async () => {
    const { sealer, newOpener } = channel();
    const sealed = sealer.seal(text('a small message of forty-odd bytes!!'));
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      await expectViolation(() => newOpener().open(flipBit(sealed, bit)), CloseCode.decryptFailed);
    }
  });

  it('a flipped bit in an empty message (the tag is all there is)', async () => {
    const { sealer, newOpener } = channel();
    const sealed = sealer.seal(Buffer.alloc(0));
    expect(sealed.length).toBe(SEAL_OVERHEAD);
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      await expectViolation(() => newOpener().open(flipBit(sealed, bit)), CloseCode.decryptFailed);
    }
  });

  it('a flipped bit in a 300 KiB message (first, last and random bytes)', async () => {
    const { sealer, newOpener } = channel();
    const sealed = sealer.seal(randomBytes(300 * 1024));
    const bits = [0, 7, sealed.length * 8 - 1, (sealed.length - SEAL_OVERHEAD) * 8, (sealed.length - SEAL_OVERHEAD) * 8 - 1];
    for (let i = 0; i < 40; i++) bits.push(Math.floor(Math.random() * sealed.length * 8));
    for (const bit of bits) {
      await expectViolation(() => newOpener().open(flipBit(sealed, bit)), CloseCode.decryptFailed);
    }
    expect(newOpener().open(sealed).length).toBe(300 * 1024);
  });

  it('a tampered large message (opened by OpenSSL) leaves no unverified plaintext in the buffer', async () => {
    const { sealer, newOpener } = channel();
    const plaintext = randomBytes(OPENSSL_OPEN_MIN_BYTES * 3 + 5);
    const sealed = flipBit(sealer.seal(plaintext), 8 * (plaintext.length - 1));
    await expectViolation(() => newOpener().openInPlace(sealed), CloseCode.decryptFailed);
    expect(sealed.subarray(0, plaintext.length).equals(Buffer.alloc(plaintext.length))).toBe(true);
  });

  it('a replayed message', async () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const first = sealer.seal(text('once'));
    expect(opener.open(first).toString()).toBe('once');
    await expectViolation(() => opener.open(first), CloseCode.decryptFailed);
  });

  it('a message replayed later in the stream', async () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const sealed = [0, 1, 2].map((i) => sealer.seal(text(`m${i}`)));
    for (const s of sealed) opener.open(s);
    await expectViolation(() => opener.open(sealed[1]!), CloseCode.decryptFailed);
  });

  it('two messages swapped', async () => {
    const { sealer, newOpener } = channel();
    const a = sealer.seal(text('first'));
    const b = sealer.seal(text('second'));
    await expectViolation(() => newOpener().open(b), CloseCode.decryptFailed);
    // In the original order both open.
    const opener = newOpener();
    expect(opener.open(a).toString()).toBe('first');
    expect(opener.open(b).toString()).toBe('second');
  });

  it('two equal plaintexts swapped', async () => {
    const { sealer, newOpener } = channel();
    sealer.seal(text('same'));
    const second = sealer.seal(text('same'));
    await expectViolation(() => newOpener().open(second), CloseCode.decryptFailed);
  });

  it('a dropped message (the next one does not open in its place)', async () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const sealed = [0, 1, 2].map((i) => sealer.seal(text(`m${i}`)));
    opener.open(sealed[0]!);
    await expectViolation(() => opener.open(sealed[2]!), CloseCode.decryptFailed);
  });

  it(`a message shorter than the ${SEAL_OVERHEAD}-byte tag, of every length`, async () => {
    const { sealer, newOpener } = channel();
    const sealed = sealer.seal(text('cut short'));
    for (let length = 0; length <= SEAL_OVERHEAD; length++) {
      if (length < SEAL_OVERHEAD) {
        await expectViolation(() => newOpener().open(sealed.subarray(0, length)), CloseCode.decryptFailed);
      }
      await expectViolation(() => newOpener().open(Buffer.alloc(length)), CloseCode.decryptFailed);
      await expectViolation(() => newOpener().open(randomBytes(length)), CloseCode.decryptFailed);
    }
  });

  it('a message missing its last byte, or its first, or with one byte too many', async () => {
    const { sealer, newOpener } = channel();
    for (const size of [0, 1, 100]) {
      const sealed = sealer.seal(randomBytes(size));
      await expectViolation(() => newOpener().open(sealed.subarray(0, sealed.length - 1)), CloseCode.decryptFailed);
      await expectViolation(() => newOpener().open(sealed.subarray(1)), CloseCode.decryptFailed);
      await expectViolation(() => newOpener().open(Buffer.concat([sealed, Buffer.from([0])])), CloseCode.decryptFailed);
    }
  });

  it('a message sealed under another key', async () => {
    const sealed = channel().sealer.seal(text('for someone else'));
    await expectViolation(() => channel().newOpener().open(sealed), CloseCode.decryptFailed);
    const key = randomBytes(32);
    const almost = Buffer.from(key);
    almost[31]! ^= 0x80;
    await expectViolation(() => new Opener(almost).open(new Sealer(key).seal(text('x'))), CloseCode.decryptFailed);
  });

  it('the error is a ProtocolViolation naming the cause', async () => {
    const err = await expectViolation(() => channel().newOpener().open(Buffer.alloc(40)), CloseCode.decryptFailed);
    expect(err.reason).toMatch(/decrypt/);
  });
});

describe('Sealer / Opener: a failed open does not move the stream on', () => {
  it('refuses the message after a tampered one, since that one was never accepted', () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const first = sealer.seal(Buffer.from('m0'));
    const second = sealer.seal(Buffer.from('m1'));
    const tampered = Buffer.from(first);
    tampered[0]! ^= 1;
    expectViolation(() => opener.open(tampered), CloseCode.decryptFailed);
    expectViolation(() => opener.open(second), CloseCode.decryptFailed);
    expect(opener.open(first).toString()).toBe('m0');
    expect(opener.open(second).toString()).toBe('m1');
  });
});

describe('Sealer / Opener: rekeying', () => {
  const total = REKEY_AFTER_MESSAGES + 10;

  it(`${REKEY_AFTER_MESSAGES} + 10 messages all open in order across the rekey, each ciphertext distinct`, () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const plaintext = text('same every time');
    const seen = new Set<string>();
    let opened = 0;
    for (let i = 0; i < total; i++) {
      const sealed = sealer.seal(plaintext);
      seen.add(sealed.toString('base64'));
      // Opening each at once keeps memory flat; the opener sees them in order all the same.
      if (opener.open(sealed).equals(plaintext)) opened++;
    }
    expect(opened).toBe(total);
    expect(seen.size).toBe(total);
  });

  it('messages held back across the rekey still open in order afterwards', () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const sealed: Buffer[] = [];
    for (let i = 0; i < total; i++) sealed.push(sealer.seal(text(`m${i}`)));
    for (let i = 0; i < total; i++) {
      if (opener.open(sealed[i]!).toString() !== `m${i}`) throw new Error(`message ${i} opened wrong`);
    }
    // A message from before the rekey, replayed after it, is refused.
    expect(() => opener.open(sealed[5]!)).toThrow(/decrypt/);
  });

  it('the key really changes at the rekey point (messages after it do not open under the first key)', () => {
    // Checked against the construction documented in channel.ts: IETF ChaCha20-Poly1305, nonce =
    // 4 zero bytes then the message counter (little-endian), key replaced after REKEY_AFTER_MESSAGES.
    const { key, sealer } = channel();
    const sealed: Buffer[] = [];
    for (let i = 0; i < total; i++) sealed.push(sealer.seal(text(`m${i}`)));
    const opensUnderFirstKey = (index: number): boolean => {
      const nonce = Buffer.alloc(12);
      nonce.writeBigUInt64LE(BigInt(index), 4);
      const c = sealed[index]!;
      const m = Buffer.alloc(c.length - SEAL_OVERHEAD);
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c, null, nonce, key);
        return m.toString() === `m${index}`;
      } catch {
        return false;
      }
    };
    expect(opensUnderFirstKey(0)).toBe(true);
    expect(opensUnderFirstKey(REKEY_AFTER_MESSAGES - 1)).toBe(true);
    expect(opensUnderFirstKey(REKEY_AFTER_MESSAGES)).toBe(false);
    expect(opensUnderFirstKey(total - 1)).toBe(false);
  });
});
