import { randomBytes } from 'node:crypto';

/**
 * clipsync frames as the wire carries them, written independently of src/ so a test can craft
 * exactly the bytes it wants: u8 type | u32 BE header length | UTF-8 JSON header | body.
 */
export const Frame = {
  hello: 0x01,
  auth: 0x02,
  offer: 0x10,
  want: 0x11,
  data: 0x12,
  end: 0x13,
  ack: 0x14,
  cancel: 0x15,
} as const;

/** The protocol version a HELLO carries: 3 since ids are roots of BLAKE3 leaf hashes (docs/PROTOCOL.md §8). */
export const PROTOCOL_VERSION = 3;

export function encodeFrame(type: number, header: object, body: Buffer = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(type, 0);
  prefix.writeUInt32BE(json.length, 1);
  return Buffer.concat([prefix, json, body]);
}

/** Decodes a plaintext frame; throws on anything that is not one (e.g. ciphertext). */
export function decodeFrame(message: Buffer): { type: number; header: Record<string, unknown>; body: Buffer } {
  if (message.length < 5) throw new Error('shorter than a frame prefix');
  const length = message.readUInt32BE(1);
  if (5 + length > message.length) throw new Error('header runs past the end');
  const header = JSON.parse(message.toString('utf8', 5, 5 + length)) as Record<string, unknown>;
  return { type: message[0]!, header, body: message.subarray(5 + length) };
}

/** The type byte of a message when it decodes as a plaintext frame, else undefined. */
export function frameTypeOf(message: Buffer): number | undefined {
  try {
    return decodeFrame(message).type;
  } catch {
    return undefined;
  }
}

/** The key blob (base64) of an authorized_keys line: its second field. */
export function keyBlobOf(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (blob === undefined) throw new Error(`not an authorized_keys line: ${publicKeyLine}`);
  return blob;
}

/**
 * A well-formed HELLO claiming the key `keyBlob` (base64). It carries fresh random `eph` and
 * `nonce` unless given; nothing about it proves the sender holds the key.
 */
export function helloFrame(keyBlob: string, overrides: Record<string, unknown> = {}): Buffer {
  return encodeFrame(Frame.hello, {
    protocol: 'clipsync',
    version: PROTOCOL_VERSION,
    name: 'raw-client',
    key: keyBlob,
    eph: randomBytes(32).toString('base64'),
    nonce: randomBytes(32).toString('base64'),
    ...overrides,
  });
}
