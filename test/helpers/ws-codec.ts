import { randomBytes } from 'node:crypto';

/**
 * A small RFC 6455 frame codec for tests that work below the `ws` library: reading a captured
 * byte stream back into frames (unmasking what a client sent), and building frames by hand,
 * valid or not, for a raw TCP client.
 */

export const WsOpcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

export interface WsFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The payload with the mask removed. */
  payload: Buffer;
}

/**
 * Splits `stream` into complete frames; `rest` is an incomplete frame at the end. Frame
 * lengths are taken as written (a 64-bit length over 2^53 stops the parse: nothing sane).
 */
export function parseWsFrames(stream: Buffer): { frames: WsFrame[]; rest: Buffer } {
  const frames: WsFrame[] = [];
  let at = 0;
  for (;;) {
    if (stream.length - at < 2) break;
    const b0 = stream[at]!;
    const b1 = stream[at + 1]!;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let headerBytes = 2;
    if (length === 126) {
      if (stream.length - at < 4) break;
      length = stream.readUInt16BE(at + 2);
      headerBytes = 4;
    } else if (length === 127) {
      if (stream.length - at < 10) break;
      const big = stream.readBigUInt64BE(at + 2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) break;
      length = Number(big);
      headerBytes = 10;
    }
    const maskBytes = masked ? 4 : 0;
    if (stream.length - at < headerBytes + maskBytes + length) break;
    const mask = masked ? stream.subarray(at + headerBytes, at + headerBytes + 4) : undefined;
    const start = at + headerBytes + maskBytes;
    const payload = Buffer.from(stream.subarray(start, start + length));
    if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0x0f, masked, payload });
    at = start + length;
  }
  return { frames, rest: stream.subarray(at) };
}

/** Joins fragmented data frames into messages (control frames are returned as they are). */
export function wsMessages(frames: WsFrame[]): { opcode: number; data: Buffer }[] {
  const out: { opcode: number; data: Buffer }[] = [];
  let pending: { opcode: number; parts: Buffer[] } | undefined;
  for (const frame of frames) {
    if (frame.opcode >= 0x8) {
      out.push({ opcode: frame.opcode, data: frame.payload });
      continue;
    }
    if (frame.opcode !== WsOpcode.continuation) pending = { opcode: frame.opcode, parts: [] };
    if (pending === undefined) continue;
    pending.parts.push(frame.payload);
    if (frame.fin) {
      out.push({ opcode: pending.opcode, data: Buffer.concat(pending.parts) });
      pending = undefined;
    }
  }
  return out;
}

export interface BuildFrameOptions {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload: Buffer;
  /** A 4-byte mask, `null` for an unmasked frame (a client must mask), default random. */
  mask?: Buffer | null;
  /** Write this length instead of the payload's (a lying frame). */
  declaredLength?: number;
}

/** Encodes one frame; what it encodes need not be valid (see the options). */
export function buildWsFrame(options: BuildFrameOptions): Buffer {
  const { payload } = options;
  const length = options.declaredLength ?? payload.length;
  const mask = options.mask === undefined ? randomBytes(4) : options.mask;
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | (((options.rsv ?? 0) & 0x7) << 4) | (options.opcode & 0x0f);
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([b0, length]);
  } else if (length < 0x10000) {
    header = Buffer.alloc(4);
    header[0] = b0;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (mask !== null) header[1]! |= 0x80;
  const body = Buffer.from(payload);
  if (mask !== null) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([header, mask ?? Buffer.alloc(0), body]);
}

/** A close frame's code and reason (1005 when it has no body). */
export function closePayload(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

/** The opening handshake a client sends for `path` on `host:port`. */
export function upgradeRequest(host: string, port: number, path = '/clipsync'): Buffer {
  return Buffer.from(
    [
      `GET ${path} HTTP/1.1`,
      `Host: ${host}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}
