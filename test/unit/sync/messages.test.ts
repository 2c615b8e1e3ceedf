import { describe, expect, it } from 'vitest';
import { decodeSyncMessage, encodeSyncMessage, type SyncMessage } from '../../../src/sync/messages.js';
import { CloseCode, ProtocolViolation } from '../../../src/wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame, type Frame, type FrameTypeValue } from '../../../src/wire/frame.js';
import { leafCount, rootId } from '../../../src/content/content-hash.js';
import { formatsTrailer, type ClipFormat, type ClipMeta } from '../../../src/sync/clip.js';

const ID = 'ab'.repeat(32);
const TEXT = 'text/plain;charset=utf-8';

/** Stand-in leaf hashes of the right count for `size` (their values only have to match the id). */
function leavesFor(size: unknown): Buffer {
  return Buffer.alloc(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? leafCount(size) * 32 : 0, 7);
}

/** The id an OFFER with these formats and leaves must carry; any id for formats that are not valid. */
function idFor(formats: unknown, leaves: Buffer): string {
  try {
    return rootId(leaves, formatsTrailer(formats as ClipFormat[]));
  } catch {
    return ID;
  }
}

/** An OFFER header with `formats` in place of the default one (the size follows their sum unless given). */
function offer(formats: unknown, size?: number): { id: string; formats: unknown; size: number; ts: number; origin: string } {
  const sum = Array.isArray(formats) ? formats.reduce((n: number, f: { size?: unknown }) => n + (typeof f?.size === 'number' ? f.size : 0), 0) : 1;
  const total = size ?? sum;
  return { id: idFor(formats, leavesFor(total)), formats, size: total, ts: 1, origin: 'o' };
}

/** A clip's meta as an OFFER carries it: leaves, and the id they make with the formats. */
function meta(fields: Omit<ClipMeta, 'id' | 'leaves'>): ClipMeta {
  const leaves = leavesFor(fields.size);
  return { id: idFor(fields.formats, leaves), ...fields, leaves };
}

/** An OFFER frame as on the wire: the header and, as its body, the leaf hashes. */
function offerFrame(header: { size?: unknown }): Frame {
  return wire(FrameType.offer, header, leavesFor(header.size));
}

/** Through the real codec, as on the wire. */
function wire(type: FrameTypeValue, header: object, body?: Buffer): Frame {
  return decodeFrame(encodeFrame(type, header, body));
}

function roundTrip(message: SyncMessage): SyncMessage {
  const { type, header, body } = encodeSyncMessage(message);
  return decodeSyncMessage(wire(type, header, body));
}

describe('sync messages', () => {
  it.each<SyncMessage>([
    { type: 'offer', meta: meta({ formats: [{ mime: TEXT, size: 12 }], mime: TEXT, size: 12, ts: 1_700_000_000_000, origin: 'SHA256:x' }) },
    { type: 'offer', meta: meta({ formats: [{ mime: 'image/png', size: (3 << 20) + 1 }], mime: 'image/png', size: (3 << 20) + 1, ts: 1, origin: 'SHA256:x' }) },
    {
      type: 'offer',
      meta: meta({
        formats: [
          { mime: 'image/png', size: 0 },
          { mime: 'text/html', size: 30 },
          { mime: TEXT, size: 12 },
        ],
        mime: TEXT,
        size: 42,
        ts: 5,
        origin: 'SHA256:x',
      }),
    },
    { type: 'want', id: ID, offset: 5, window: 8_388_608 },
    { type: 'end', id: ID },
    { type: 'ack', id: ID, status: 'applied', reason: undefined },
    { type: 'ack', id: ID, status: 'rejected', reason: 'too big' },
    { type: 'cancel', id: ID },
    { type: 'credit', id: ID, bytes: 4096 },
  ])('round-trips $type', (message) => {
    expect(roundTrip(message)).toEqual(message);
  });

  it('derives an OFFER\'s main type from its formats (it is not on the wire)', () => {
    const header = offer([{ mime: 'image/png', size: 3 }, { mime: 'text/html', size: 4 }]);
    const decoded = decodeSyncMessage(offerFrame(header));
    expect(decoded).toEqual({
      type: 'offer',
      meta: { id: header.id, formats: [{ mime: 'image/png', size: 3 }, { mime: 'text/html', size: 4 }], mime: 'text/html', size: 7, ts: 1, origin: 'o', leaves: leavesFor(7) },
    });
  });

  it('accepts exactly 32 formats', () => {
    const formats = Array.from({ length: 32 }, (_, i) => ({ mime: `application/x-${String(i).padStart(2, '0')}`, size: i }));
    const decoded = decodeSyncMessage(offerFrame(offer(formats)));
    expect(decoded.type === 'offer' && decoded.meta.formats).toEqual(formats);
  });

  it('carries DATA bodies as they are', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    const decoded = roundTrip({ type: 'data', id: ID, offset: 7, body });
    expect(decoded).toMatchObject({ type: 'data', id: ID, offset: 7 });
    expect(decoded.type === 'data' && decoded.body.equals(body)).toBe(true);
  });

  it('lays headers out as docs/PROTOCOL.md shows them (key order included)', () => {
    const formats = [{ mime: 'text/plain', size: 1 }];
    const fields = { id: ID, formats, mime: 'text/plain', size: 1, ts: 2, origin: 'o', leaves: leavesFor(1) };
    const encoded = encodeSyncMessage({ type: 'offer', meta: { ...fields, formats: [{ ...formats[0]!, data: Buffer.from('x') }], data: Buffer.from('x') } as never });
    expect(JSON.stringify(encoded.header)).toBe(`{"id":"${ID}","formats":[{"mime":"text/plain","size":1}],"size":1,"ts":2,"origin":"o"}`);
    expect(encoded.body).toEqual(leavesFor(1)); // the leaf hashes travel as the body, raw
    expect(encodeSyncMessage({ type: 'want', id: ID, offset: 0, window: 9 })).toEqual({ type: FrameType.want, header: { id: ID, offset: 0, window: 9 } });
    expect(JSON.stringify(encodeSyncMessage({ type: 'ack', id: ID, status: 'stale', reason: undefined }).header)).toBe(`{"id":"${ID}","status":"stale"}`);
  });

  it.each([
    ['none', Buffer.alloc(0)],
    ['one too few', Buffer.alloc(32, 7)],
    ['one too many', Buffer.alloc(96, 7)],
    ['a partial hash', Buffer.alloc(65, 7)],
  ])('refuses an OFFER with %s of its leaf hashes as a malformed frame (4005)', (_what, body) => {
    const header = offer([{ mime: 'image/png', size: (1 << 20) + 1 }]); // two leaves
    expect(() => decodeSyncMessage(wire(FrameType.offer, header, body))).toThrow(expect.objectContaining({ closeCode: CloseCode.malformedFrame, reason: expect.stringContaining('leaf hashes') }));
  });

  it('cuts an ACK reason to 300 characters', () => {
    const { header } = encodeSyncMessage({ type: 'ack', id: ID, status: 'rejected', reason: 'x'.repeat(1000) });
    expect((header as { reason: string }).reason).toHaveLength(300);
  });

  it('reads an ACK reason that is not a string as none', () => {
    expect(decodeSyncMessage(wire(FrameType.ack, { id: ID, status: 'rejected', reason: 42 }))).toEqual({ type: 'ack', id: ID, status: 'rejected', reason: undefined });
  });

  it.each<[string, FrameTypeValue, object, string]>([
    ['an OFFER id that is not hex', FrameType.offer, { ...offer([{ mime: TEXT, size: 1 }]), id: 'z'.repeat(64) }, 'clip id must be 64 hex digits'],
    ['an OFFER id that is too long', FrameType.offer, { ...offer([{ mime: TEXT, size: 1 }]), id: 'a'.repeat(65) }, 'field "id" must be a string'],
    ['an OFFER with a mime and no formats (version 1)', FrameType.offer, { id: ID, mime: 'text/plain', size: 1, ts: 1, origin: 'o' }, 'clip formats must be a list of 1 to 32'],
    ['an OFFER whose formats are not an array', FrameType.offer, offer({ mime: TEXT, size: 1 }, 1), 'clip formats must be a list of 1 to 32'],
    ['an OFFER with no formats', FrameType.offer, offer([], 0), 'clip formats must be a list of 1 to 32'],
    ['an OFFER with 33 formats', FrameType.offer, offer(Array.from({ length: 33 }, (_, i) => ({ mime: `application/x-${String(i).padStart(2, '0')}`, size: 1 }))), 'clip formats must be a list of 1 to 32'],
    ['an OFFER format that is not an object', FrameType.offer, offer(['text/plain'], 0), 'each clip format must be an object'],
    ['an OFFER format that is a list', FrameType.offer, offer([['text/plain', 1]], 1), 'each clip format must be an object'],
    ['an OFFER format that is null', FrameType.offer, offer([null], 0), 'each clip format must be an object'],
    ['an OFFER format with no mime', FrameType.offer, offer([{ size: 1 }]), 'field "mime" must be a string'],
    ['an OFFER mime that is not a media type', FrameType.offer, offer([{ mime: 'plain', size: 1 }]), 'clip mime type is not a media type'],
    ['an OFFER mime with a control character', FrameType.offer, offer([{ mime: 'text/plain;x=\u0007', size: 1 }]), 'clip mime type is not a media type'],
    ['an OFFER mime with a newline', FrameType.offer, offer([{ mime: 'text/plain;\nx=y', size: 1 }]), 'clip mime type is not a media type'],
    ['an OFFER mime over 255 characters', FrameType.offer, offer([{ mime: `text/${'x'.repeat(251)}`, size: 1 }]), 'field "mime" must be a string'],
    ['an OFFER format with a negative size', FrameType.offer, offer([{ mime: TEXT, size: -1 }], 0), 'field "size" must be a whole number'],
    ['an OFFER format with a size as text', FrameType.offer, offer([{ mime: TEXT, size: '1' }], 1), 'field "size" must be a whole number'],
    ['an OFFER with formats out of order', FrameType.offer, offer([{ mime: 'text/plain', size: 1 }, { mime: 'text/html', size: 1 }]), 'clip formats must be distinct and sorted by type'],
    ['an OFFER with a type twice', FrameType.offer, offer([{ mime: 'text/html', size: 1 }, { mime: 'text/html', size: 2 }]), 'clip formats must be distinct and sorted by type'],
    ['an OFFER whose size is not the sum of its formats', FrameType.offer, offer([{ mime: 'text/html', size: 1 }, { mime: TEXT, size: 2 }], 4), 'clip size is not the sum of its formats'],
    ['an OFFER with a fractional size', FrameType.offer, offer([{ mime: TEXT, size: 1 }], 1.5), 'field "size" must be a whole number'],
    ['an OFFER origin over 128 characters', FrameType.offer, { ...offer([{ mime: TEXT, size: 1 }]), origin: 'o'.repeat(129) }, 'field "origin" must be a string'],
    ['an OFFER whose id is not the root of its leaves and formats', FrameType.offer, { ...offer([{ mime: TEXT, size: 1 }]), id: ID }, 'the clip id is not the root of its leaf hashes and formats'],
    ['an OFFER whose id names other formats', FrameType.offer, { ...offer([{ mime: TEXT, size: 1 }]), formats: [{ mime: 'text/html', size: 1 }] }, 'the clip id is not the root of its leaf hashes and formats'],
    ['a WANT with a negative offset', FrameType.want, { id: ID, offset: -1, window: 1 }, 'field "offset" must be a whole number'],
    ['a DATA with no offset', FrameType.data, { id: ID }, 'field "offset" must be a whole number'],
    ['an ACK status over 16 characters', FrameType.ack, { id: ID, status: 'x'.repeat(17) }, 'field "status" must be a string'],
    ['a CREDIT with bytes as text', FrameType.credit, { id: ID, bytes: '10' }, 'field "bytes" must be a whole number'],
    ['a CANCEL id that is a number', FrameType.cancel, { id: 5 }, 'field "id" must be a string'],
    ['a HELLO', FrameType.hello, {}, 'frame type 1 is not expected here'],
    ['a pairing frame', FrameType.pairCommit, {}, 'frame type 32 is not expected here'],
  ])('refuses %s as a malformed frame (4005)', (_what, type, header, reason) => {
    let caught: unknown;
    try {
      decodeSyncMessage(type === FrameType.offer ? offerFrame(header) : wire(type, header));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolViolation);
    expect(caught).toMatchObject({ closeCode: CloseCode.malformedFrame, reason });
  });
});
