import { CloseCode, ProtocolViolation } from './close-codes.js';

/**
 * One frame is one WebSocket binary message:
 *   u8 type | u32 BE header length | header (UTF-8 JSON object) | body (raw bytes, may be empty)
 * The header carries small typed fields; the body carries clip bytes without any encoding.
 */
export const FrameType = {
  hello: 0x01,
  auth: 0x02,
  offer: 0x10,
  want: 0x11,
  data: 0x12,
  end: 0x13,
  ack: 0x14,
  cancel: 0x15,
  credit: 0x16,
  /** Pairing frames: only on a pairing connection (docs/PROTOCOL.md §9), never beside clip frames. */
  pairCommit: 0x20,
  pairNonce: 0x21,
  pairReveal: 0x22,
  pairAccept: 0x23,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));
const PREFIX_BYTES = 5;
export const MAX_HEADER_BYTES = 16 * 1024;

export interface Frame {
  type: FrameTypeValue;
  header: Record<string, unknown>;
  body: Buffer;
}

/**
 * Encodes a frame. `tailBytes` leaves room after it (uninitialised) so the channel can seal
 * the frame in place, without a second buffer per message; `allocate` lets the connection
 * reuse buffers the socket has finished with.
 */
export function encodeFrame(
  type: FrameTypeValue,
  header: object,
  body: Buffer = EMPTY,
  tailBytes = 0,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new RangeError(`frame header of ${json.length} bytes is over the limit`);
  const out = allocate(PREFIX_BYTES + json.length + body.length + tailBytes);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(json.length, 1);
  json.copy(out, PREFIX_BYTES);
  body.copy(out, PREFIX_BYTES + json.length);
  return out;
}

/**
 * Lays out a frame for `Sealer.sealFrame`: prefix and header, padded with JSON whitespace so
 * that the body starts on a `blockBytes` boundary, then uninitialised room for the body and
 * `tailBytes`. The body itself is not copied: the sealer encrypts it straight into place.
 * Decoders see an ordinary frame (JSON allows trailing spaces).
 */
export function encodeFrameHead(
  type: FrameTypeValue,
  header: object,
  bodyLength: number,
  blockBytes: number,
  tailBytes: number,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): { out: Buffer; headLength: number } {
  const json = JSON.stringify(header);
  const jsonLength = Buffer.byteLength(json, 'utf8');
  const headLength = Math.ceil((PREFIX_BYTES + jsonLength) / blockBytes) * blockBytes;
  if (headLength - PREFIX_BYTES > MAX_HEADER_BYTES) throw new RangeError(`frame header of ${jsonLength} bytes is over the limit`);
  const out = allocate(headLength + bodyLength + tailBytes);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(headLength - PREFIX_BYTES, 1);
  out.write(json, PREFIX_BYTES, 'utf8');
  out.fill(0x20, PREFIX_BYTES + jsonLength, headLength);
  return { out, headLength };
}

/** Decodes one message; anything malformed raises a ProtocolViolation (close 4005). */
export function decodeFrame(message: Buffer): Frame {
  if (message.length < PREFIX_BYTES) throw malformed('frame shorter than its prefix');
  const type = message.readUInt8(0);
  if (!KNOWN_TYPES.has(type)) throw malformed(`unknown frame type 0x${type.toString(16)}`);
  const headerLength = message.readUInt32BE(1);
  if (headerLength > MAX_HEADER_BYTES) throw malformed('frame header over the size limit');
  if (PREFIX_BYTES + headerLength > message.length) throw malformed('frame header runs past the end of the frame');
  let header: unknown;
  try {
    header = JSON.parse(message.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerLength));
  } catch {
    throw malformed('frame header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw malformed('frame header is not an object');
  return {
    type: type as FrameTypeValue,
    header: header as Record<string, unknown>,
    body: message.subarray(PREFIX_BYTES + headerLength),
  };
}

const EMPTY = Buffer.alloc(0);

export function malformed(reason: string): ProtocolViolation {
  return new ProtocolViolation(CloseCode.malformedFrame, reason);
}

/** Typed readers for header fields: a missing or mistyped field is a malformed frame. */
export const field = {
  string(header: Record<string, unknown>, key: string, maxLength = 1024): string {
    const v = header[key];
    if (typeof v !== 'string' || v.length > maxLength) throw malformed(`field "${key}" must be a string`);
    return v;
  },
  integer(header: Record<string, unknown>, key: string): number {
    const v = header[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw malformed(`field "${key}" must be a whole number`);
    return v;
  },
  bytes(header: Record<string, unknown>, key: string, length?: number): Buffer {
    const v = header[key];
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw malformed(`field "${key}" must be base64`);
    const out = Buffer.from(v, 'base64');
    if (length !== undefined && out.length !== length) throw malformed(`field "${key}" must be ${length} bytes`);
    return out;
  },
};
