import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CloseCode, ProtocolViolation, describeCloseCode, isRefusal } from '../../../src/wire/close-codes.js';
import { FrameType, MAX_HEADER_BYTES, decodeFrame, encodeFrame, field } from '../../../src/wire/frame.js';

function violation(fn: () => unknown): ProtocolViolation {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolViolation);
    return err as ProtocolViolation;
  }
  throw new Error('expected a ProtocolViolation');
}

/** A frame built by hand: type byte, declared header length, then raw bytes. */
function rawFrame(type: number, declaredLength: number, rest: Buffer | string = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(type, 0);
  prefix.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([prefix, Buffer.from(rest)]);
}

describe('encodeFrame / decodeFrame', () => {
  it.each(Object.entries(FrameType))('round-trips a %s frame with an empty body', (_name, type) => {
    const header = { id: 'abc', n: 3, nested: { ok: true } };
    const frame = decodeFrame(encodeFrame(type, header));
    expect(frame.type).toBe(type);
    expect(frame.header).toEqual(header);
    expect(frame.body.length).toBe(0);
  });

  it('round-trips a binary body byte for byte', () => {
    const body = Buffer.from([0x00, 0xff, 0x01, 0xfe, 0x7b, 0x7d, 0x0a, 0x00]);
    const big = randomBytes(100_000);
    for (const b of [body, big]) {
      const frame = decodeFrame(encodeFrame(FrameType.data, { seq: 1 }, b));
      expect(frame.body.equals(b)).toBe(true);
      expect(frame.header).toEqual({ seq: 1 });
    }
  });

  it('lays out type, big-endian header length, JSON header, body', () => {
    const out = encodeFrame(FrameType.ack, { a: 1 }, Buffer.from('xy'));
    expect(out[0]).toBe(0x14);
    expect(out.readUInt32BE(1)).toBe(7);
    expect(out.toString('utf8', 5, 12)).toBe('{"a":1}');
    expect(out.toString('utf8', 12)).toBe('xy');
  });

  it('keeps non-ASCII header strings intact', () => {
    const header = { name: 'Ноутбук 💻', mime: 'text/plain;charset=utf-8' };
    expect(decodeFrame(encodeFrame(FrameType.hello, header)).header).toEqual(header);
  });

  it('accepts an empty header object', () => {
    expect(decodeFrame(rawFrame(FrameType.end, 2, '{}')).header).toEqual({});
  });

  it('encodeFrame refuses a header over MAX_HEADER_BYTES', () => {
    expect(() => encodeFrame(FrameType.offer, { pad: 'x'.repeat(MAX_HEADER_BYTES) })).toThrow(RangeError);
  });

  it('a header of exactly MAX_HEADER_BYTES round-trips', () => {
    const pad = 'x'.repeat(MAX_HEADER_BYTES - '{"p":""}'.length);
    const encoded = encodeFrame(FrameType.offer, { p: pad });
    expect(encoded.readUInt32BE(1)).toBe(MAX_HEADER_BYTES);
    expect(decodeFrame(encoded).header['p']).toBe(pad);
  });
});

describe('decodeFrame rejects malformed frames with close code 4005', () => {
  const cases: [string, Buffer][] = [
    ['an empty buffer', Buffer.alloc(0)],
    ['a 1-byte prefix', Buffer.from([FrameType.hello])],
    ['a 4-byte prefix', Buffer.from([FrameType.hello, 0, 0, 0])],
    ['an unknown type 0x00', rawFrame(0x00, 2, '{}')],
    ['an unknown type 0x03', rawFrame(0x03, 2, '{}')],
    ['an unknown type 0xff', rawFrame(0xff, 2, '{}')],
    ['a header length past the end', rawFrame(FrameType.hello, 10, '{}')],
    ['a header length one past the end', rawFrame(FrameType.hello, 3, '{}')],
    ['a header length over MAX_HEADER_BYTES', rawFrame(FrameType.hello, MAX_HEADER_BYTES + 1, Buffer.alloc(MAX_HEADER_BYTES + 1, 0x20))],
    ['a header length of 0xffffffff', rawFrame(FrameType.hello, 0xffffffff, '{}')],
    ['a zero-length header', rawFrame(FrameType.hello, 0)],
    ['a non-JSON header', rawFrame(FrameType.hello, 5, '{abc}')],
    ['a truncated JSON header', rawFrame(FrameType.hello, 5, '{"a":1}')],
    ['invalid UTF-8 in the header', rawFrame(FrameType.hello, 3, Buffer.from([0x7b, 0xff, 0x7d]))],
    ['a JSON array header', rawFrame(FrameType.hello, 7, '[1,2,3]')],
    ['a JSON null header', rawFrame(FrameType.hello, 4, 'null')],
    ['a JSON string header', rawFrame(FrameType.hello, 4, '"hi"')],
    ['a JSON number header', rawFrame(FrameType.hello, 2, '42')],
  ];

  it.each(cases)('%s', (_what, message) => {
    const err = violation(() => decodeFrame(message));
    expect(err.closeCode).toBe(CloseCode.malformedFrame);
    expect(err.closeCode).toBe(4005);
    expect(err.reason).toBe(err.message);
    expect(err.reason.length).toBeGreaterThan(0);
  });

  it('says why in the reason', () => {
    expect(violation(() => decodeFrame(Buffer.alloc(0))).reason).toMatch(/shorter than its prefix/);
    expect(violation(() => decodeFrame(rawFrame(0x42, 2, '{}'))).reason).toMatch(/unknown frame type 0x42/);
    expect(violation(() => decodeFrame(rawFrame(1, 99, '{}'))).reason).toMatch(/past the end/);
    expect(violation(() => decodeFrame(rawFrame(1, MAX_HEADER_BYTES + 1))).reason).toMatch(/size limit/);
    expect(violation(() => decodeFrame(rawFrame(1, 1, '{'))).reason).toMatch(/not JSON/);
    expect(violation(() => decodeFrame(rawFrame(1, 2, '[]'))).reason).toMatch(/not an object/);
  });

  it('never throws anything but a ProtocolViolation for 2000 random buffers', () => {
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const message = randomBytes(randomInt(0, 65));
      try {
        const frame = decodeFrame(message);
        decoded += 1;
        expect(Object.values(FrameType)).toContain(frame.type);
        expect(typeof frame.header).toBe('object');
        expect(Array.isArray(frame.header)).toBe(false);
        expect(Buffer.isBuffer(frame.body)).toBe(true);
      } catch (err) {
        if (!(err instanceof ProtocolViolation)) {
          throw new Error(`decodeFrame(${message.toString('hex')}) threw ${String(err)}`);
        }
        expect(err.closeCode).toBe(CloseCode.malformedFrame);
      }
    }
    expect(decoded).toBeLessThan(2000);
  });

  it('never throws anything but a ProtocolViolation for random mutations of a valid frame', () => {
    const valid = encodeFrame(FrameType.offer, { id: 'ab', size: 3, mime: 'text/plain' }, Buffer.from('xyz'));
    for (let i = 0; i < 2000; i++) {
      const message = Buffer.from(valid.subarray(0, randomInt(0, valid.length + 1)));
      if (message.length > 0) message[randomInt(0, message.length)] = randomInt(0, 256);
      try {
        decodeFrame(message);
      } catch (err) {
        if (!(err instanceof ProtocolViolation)) throw new Error(`decodeFrame(${message.toString('hex')}) threw ${String(err)}`);
      }
    }
  });
});

describe('field readers', () => {
  const header = {
    s: 'text',
    long: 'x'.repeat(2000),
    n: 42,
    zero: 0,
    neg: -1,
    frac: 1.5,
    huge: 2 ** 60,
    strNum: '42',
    b32: Buffer.alloc(32, 7).toString('base64'),
    b0: '',
    notB64: 'not base64!',
    urlB64: 'ab-_',
    arr: [1],
    obj: {},
    nil: null,
    bool: true,
  };

  function rejects(fn: () => unknown, key: string): void {
    const err = violation(fn);
    expect(err.closeCode).toBe(4005);
    expect(err.reason).toContain(`"${key}"`);
  }

  it('string accepts strings within the limit', () => {
    expect(field.string(header, 's')).toBe('text');
    expect(field.string(header, 's', 4)).toBe('text');
    expect(field.string(header, 'long', 2000)).toHaveLength(2000);
  });

  it.each(['n', 'nil', 'arr', 'obj', 'bool', 'missing'])('string rejects %s', (key) => {
    rejects(() => field.string(header, key), key);
  });

  it('string rejects over-long values (default limit 1024)', () => {
    rejects(() => field.string(header, 'long'), 'long');
    rejects(() => field.string(header, 's', 3), 's');
  });

  it('integer accepts non-negative safe integers', () => {
    expect(field.integer(header, 'n')).toBe(42);
    expect(field.integer(header, 'zero')).toBe(0);
  });

  it.each(['neg', 'frac', 'huge', 'strNum', 'nil', 'bool', 'arr', 'missing'])('integer rejects %s', (key) => {
    rejects(() => field.integer(header, key), key);
  });

  it('bytes decodes base64 and checks an exact length', () => {
    expect(field.bytes(header, 'b32', 32).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(field.bytes(header, 'b32').length).toBe(32);
    expect(field.bytes(header, 'b0').length).toBe(0);
    expect(field.bytes(header, 'b0', 0).length).toBe(0);
  });

  it.each([31, 33, 0, 64])('bytes rejects a 32-byte value when %i bytes are required', (length) => {
    rejects(() => field.bytes(header, 'b32', length), 'b32');
  });

  it.each(['notB64', 'urlB64', 'n', 'nil', 'arr', 'missing'])('bytes rejects %s', (key) => {
    rejects(() => field.bytes(header, key), key);
  });
});

describe('close codes', () => {
  it('has the documented values', () => {
    expect(CloseCode).toMatchObject({
      untrusted: 4001,
      badSignature: 4002,
      unsupportedVersion: 4003,
      handshakeTimeout: 4004,
      malformedFrame: 4005,
      selfConnection: 4006,
    });
  });

  it('isRefusal is true only for refusals', () => {
    expect([4001, 4002, 4003, 4006].every(isRefusal)).toBe(true);
    expect([1000, 1001, 4000, 4004, 4005, 4007, 4008].some(isRefusal)).toBe(false);
  });

  it('describes every code, and unknown ones by number', () => {
    for (const code of Object.values(CloseCode)) expect(describeCloseCode(code)).not.toMatch(/closed with code/);
    expect(describeCloseCode(4999)).toBe('closed with code 4999');
  });
});

