import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseCode, ProtocolViolation } from '../../../src/wire/close-codes.js';
import { FrameType, MAX_HEADER_BYTES, decodeFrame, encodeFrame, type FrameTypeValue } from '../../../src/wire/frame.js';
import { expectOnlyViolation } from '../_support/fuzz.js';

const KNOWN_TYPES = Object.values(FrameType) as FrameTypeValue[];

/** Checks one decodeFrame call: a well-formed frame, or a ProtocolViolation (4005), nothing else. */
function decodeChecked(message: Buffer): void {
  let frame;
  try {
    frame = decodeFrame(message);
  } catch (err) {
    expectOnlyViolation(err, [CloseCode.malformedFrame]);
    return;
  }
  expect(KNOWN_TYPES).toContain(frame.type);
  expect(frame.type).toBe(message[0]);
  expect(typeof frame.header).toBe('object');
  expect(frame.header).not.toBeNull();
  expect(Array.isArray(frame.header)).toBe(false);
  const headerLength = message.readUInt32BE(1);
  expect(headerLength).toBeLessThanOrEqual(MAX_HEADER_BYTES);
  expect(frame.body.equals(message.subarray(5 + headerLength))).toBe(true);
}

/** A frame prefix with a type byte and a header length that may or may not tell the truth. */
const framed = fc
  .record({
    type: fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.integer({ min: 0, max: 255 })),
    header: fc.oneof(
      fc.json().map((j) => Buffer.from(j)),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })).map((o) => Buffer.from(JSON.stringify(o))),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      fc.constantFrom('{}', '[]', 'null', '"x"', '7', '{"a":1', '{"__proto__":{"x":1}}', '\uFEFF{}').map((s) => Buffer.from(s)),
    ),
    lengthDelta: fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 5 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 })),
    body: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ type, header, lengthDelta, body }) => {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(type, 0);
    prefix.writeUInt32BE(Math.min(2 ** 32 - 1, Math.max(0, header.length + lengthDelta)), 1);
    return Buffer.concat([prefix, header, Buffer.from(body)]);
  });

describe('fuzz: decodeFrame', () => {
  it('arbitrary bytes: a frame or a ProtocolViolation (4005), nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodeChecked(Buffer.from(bytes))),
      { numRuns: 3000 },
    );
  });

  it('frame-shaped bytes (real prefixes, lying lengths, JSON and non-JSON headers): the same', () => {
    fc.assert(
      fc.property(framed, (message) => decodeChecked(message)),
      { numRuns: 3000 },
    );
  });

  it('a header length over the limit is refused even when the bytes are there', () => {
    const header = Buffer.from(JSON.stringify({ pad: 'x'.repeat(MAX_HEADER_BYTES) }));
    const prefix = Buffer.from([FrameType.offer, 0, 0, 0, 0]);
    prefix.writeUInt32BE(header.length, 1);
    expect(() => decodeFrame(Buffer.concat([prefix, header]))).toThrow(ProtocolViolation);
    expect(() => decodeFrame(Buffer.concat([prefix, header]))).toThrow(/size limit/);
  });

  it('encodeFrame → decodeFrame round-trips any JSON object header and body', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KNOWN_TYPES),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        fc.uint8Array({ maxLength: 200 }),
        (type, header, body) => {
          const frame = decodeFrame(encodeFrame(type, header, Buffer.from(body)));
          expect(frame.type).toBe(type);
          expect(frame.header).toEqual(JSON.parse(JSON.stringify(header)));
          expect(frame.body.equals(Buffer.from(body))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
