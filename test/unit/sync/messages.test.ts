import { describe, expect, it } from 'vitest';
import { decodeSyncMessage, encodeSyncMessage, type SyncMessage } from '../../../src/sync/messages.js';
import { CloseCode, ProtocolViolation } from '../../../src/wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame, type Frame, type FrameTypeValue } from '../../../src/wire/frame.js';

const ID = 'ab'.repeat(32);

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
    { type: 'offer', meta: { id: ID, mime: 'text/plain;charset=utf-8', size: 12, ts: 1_700_000_000_000, origin: 'SHA256:x' } },
    { type: 'want', id: ID, offset: 5, window: 8_388_608 },
    { type: 'end', id: ID },
    { type: 'ack', id: ID, status: 'applied', reason: undefined },
    { type: 'ack', id: ID, status: 'rejected', reason: 'too big' },
    { type: 'cancel', id: ID },
    { type: 'credit', id: ID, bytes: 4096 },
  ])('round-trips $type', (message) => {
    expect(roundTrip(message)).toEqual(message);
  });

  it('carries DATA bodies as they are', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    const decoded = roundTrip({ type: 'data', id: ID, offset: 7, body });
    expect(decoded).toMatchObject({ type: 'data', id: ID, offset: 7 });
    expect(decoded.type === 'data' && decoded.body.equals(body)).toBe(true);
  });

  it('lays headers out as docs/PROTOCOL.md shows them (key order included)', () => {
    const meta = { id: ID, mime: 'text/plain', size: 1, ts: 2, origin: 'o' };
    expect(JSON.stringify(encodeSyncMessage({ type: 'offer', meta: { ...meta, data: Buffer.from('x') } as never }).header)).toBe(JSON.stringify(meta));
    expect(encodeSyncMessage({ type: 'want', id: ID, offset: 0, window: 9 })).toEqual({ type: FrameType.want, header: { id: ID, offset: 0, window: 9 } });
    expect(JSON.stringify(encodeSyncMessage({ type: 'ack', id: ID, status: 'stale', reason: undefined }).header)).toBe(`{"id":"${ID}","status":"stale"}`);
  });

  it('cuts an ACK reason to 300 characters', () => {
    const { header } = encodeSyncMessage({ type: 'ack', id: ID, status: 'rejected', reason: 'x'.repeat(1000) });
    expect((header as { reason: string }).reason).toHaveLength(300);
  });

  it('reads an ACK reason that is not a string as none', () => {
    expect(decodeSyncMessage(wire(FrameType.ack, { id: ID, status: 'rejected', reason: 42 }))).toEqual({ type: 'ack', id: ID, status: 'rejected', reason: undefined });
  });

  it.each<[string, FrameTypeValue, object, string]>([
    ['an OFFER id that is not hex', FrameType.offer, { id: 'z'.repeat(64), mime: 'text/plain', size: 1, ts: 1, origin: 'o' }, 'clip id must be 64 hex digits'],
    ['an OFFER id that is too long', FrameType.offer, { id: 'a'.repeat(65), mime: 'text/plain', size: 1, ts: 1, origin: 'o' }, 'field "id" must be a string'],
    ['an OFFER mime that is not a media type', FrameType.offer, { id: ID, mime: 'plain', size: 1, ts: 1, origin: 'o' }, 'clip mime type is not a media type'],
    ['an OFFER with a fractional size', FrameType.offer, { id: ID, mime: 'text/plain', size: 1.5, ts: 1, origin: 'o' }, 'field "size" must be a whole number'],
    ['an OFFER origin over 128 characters', FrameType.offer, { id: ID, mime: 'text/plain', size: 1, ts: 1, origin: 'o'.repeat(129) }, 'field "origin" must be a string'],
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
      decodeSyncMessage(wire(type, header));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolViolation);
    expect(caught).toMatchObject({ closeCode: CloseCode.malformedFrame, reason });
  });
});
