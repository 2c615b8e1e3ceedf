import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHACHA_BLOCK_BYTES, SEAL_OVERHEAD, Sealer } from '../../../src/secure/channel.js';
import { FrameType, decodeFrame, encodeFrameHead } from '../../../src/wire/frame.js';
import { randomBytes } from '../../../src/secure/sodium.js';
import { channel } from '../_support/channel.js';

/** sealFrame must produce exactly what the one-shot AEAD makes of head || body. */
function sealBothWays(key: Buffer, messagesBefore: number, head: Buffer, body: Buffer): { direct: Buffer; reference: Buffer } {
  const direct = new Sealer(key);
  const reference = new Sealer(key);
  for (let i = 0; i < messagesBefore; i++) {
    direct.seal(Buffer.alloc(1));
    reference.seal(Buffer.alloc(1));
  }
  const out = Buffer.alloc(head.length + body.length + SEAL_OVERHEAD);
  head.copy(out);
  const sealed = direct.sealFrame(out, head.length, body);
  const whole = Buffer.alloc(head.length + body.length + SEAL_OVERHEAD);
  head.copy(whole);
  body.copy(whole, head.length);
  return { direct: Buffer.from(sealed), reference: reference.sealInPlace(whole) };
}

describe('Sealer.sealFrame (body encrypted straight into the frame)', () => {
  it('matches sealInPlace byte for byte, for any block-aligned head and any body', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 3 }),
        (blocks, bodyLength, before) => {
          const key = randomBytes(32);
          const { direct, reference } = sealBothWays(key, before, randomBytes(blocks * CHACHA_BLOCK_BYTES), randomBytes(bodyLength));
          expect(direct.equals(reference)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('opens with the ordinary opener and keeps counters in step with sealInPlace', () => {
    const { sealer, newOpener } = channel();
    const opener = newOpener();
    const body = randomBytes(300 * 1024);
    const { out, headLength } = encodeFrameHead(FrameType.data, { id: 'x', offset: 7 }, body.length, CHACHA_BLOCK_BYTES, SEAL_OVERHEAD);
    expect(headLength % CHACHA_BLOCK_BYTES).toBe(0);
    const sealed = Buffer.from(sealer.sealFrame(out, headLength, body));
    const frame = decodeFrame(opener.openInPlace(sealed));
    expect(frame.header).toEqual({ id: 'x', offset: 7 });
    expect(frame.body.equals(body)).toBe(true);
    // The next message, sealed the other way, still opens: both paths advance the counter once.
    expect(opener.openInPlace(sealer.seal(Buffer.from('next'))).toString()).toBe('next');
  });

  it('refuses a head that is not whole blocks, or a buffer of the wrong size', () => {
    const { sealer } = channel();
    expect(() => sealer.sealFrame(Buffer.alloc(10 + 5 + SEAL_OVERHEAD), 10, Buffer.alloc(5))).toThrow(RangeError);
    expect(() => sealer.sealFrame(Buffer.alloc(64 + 4 + SEAL_OVERHEAD), 64, Buffer.alloc(5))).toThrow(RangeError);
  });
});
