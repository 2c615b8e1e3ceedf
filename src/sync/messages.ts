import { FrameType, field, malformed, type Frame, type FrameTypeValue } from '../wire/frame.js';
import { CONTENT_HASH_BYTES, leafCount, rootId } from '../content/content-hash.js';
import { MAX_FORMATS, MAX_MIME_LENGTH, canonicalFormats, formatsTrailer, isValidMime, mainFormat, type ClipFormat, type ClipMeta } from './clip.js';
import type { PeerChannel } from './ports.js';

/**
 * The clip frames (docs/PROTOCOL.md §6) as typed messages. Every field a peer sends is checked
 * here, once: the engine only ever sees messages that passed, and anything else is a
 * malformed frame (close 4005). Encoding lays the headers out exactly as the protocol
 * document shows them.
 */

/**
 * How a receiver answers a clip: applied, already had it, holds a newer one, refused, or
 * `announced`: made current without its bytes (over the receiver's eager limit), which it
 * fetches with a WANT only when the clip is pasted; or `declined`: not taken by choice (paused,
 * or the receiver's per-peer rules), which the sender reports as skipped rather than failed.
 */
export type AckStatus = 'applied' | 'have' | 'stale' | 'rejected' | 'announced' | 'declined';

/** An ACK reason is for people; it is cut to this many characters on the way out. */
export const MAX_REASON_LENGTH = 300;

export type SyncMessage =
  | { type: 'offer'; meta: ClipMeta }
  /** `restart`: stream again from `offset`, even though a stream of this clip is under way (a leaf failed its check). */
  | { type: 'want'; id: string; offset: number; window: number; restart?: true }
  | { type: 'data'; id: string; offset: number; body: Buffer }
  | { type: 'end'; id: string }
  /** `status` is any short string: a newer peer may answer with one this version does not know. */
  | { type: 'ack'; id: string; status: string; reason: string | undefined }
  | { type: 'cancel'; id: string }
  | { type: 'credit'; id: string; bytes: number };

const ID_LENGTH = 64;

/** Reads a clip frame; throws a ProtocolViolation for a frame that is not one, or is malformed. */
export function decodeSyncMessage(frame: Frame): SyncMessage {
  const h = frame.header;
  switch (frame.type) {
    case FrameType.offer:
      return { type: 'offer', meta: readMeta(h, frame.body) };
    case FrameType.want: {
      const want: SyncMessage = { type: 'want', id: readId(h), offset: field.integer(h, 'offset'), window: field.integer(h, 'window') };
      if (h['restart'] === true) want.restart = true;
      return want;
    }
    case FrameType.data:
      return { type: 'data', id: readId(h), offset: field.integer(h, 'offset'), body: frame.body };
    case FrameType.end:
      return { type: 'end', id: readId(h) };
    case FrameType.ack: {
      const id = readId(h);
      const status = field.string(h, 'status', 16);
      const reason = h['reason'];
      return { type: 'ack', id, status, reason: typeof reason === 'string' ? reason : undefined };
    }
    case FrameType.cancel:
      return { type: 'cancel', id: readId(h) };
    case FrameType.credit:
      return { type: 'credit', id: readId(h), bytes: field.integer(h, 'bytes') };
    default:
      throw malformed(`frame type ${frame.type} is not expected here`);
  }
}

/** A message as a frame: its type, its header and, for DATA, its body. */
export interface EncodedMessage {
  type: FrameTypeValue;
  header: object;
  body?: Buffer;
}

export function encodeSyncMessage(message: SyncMessage): EncodedMessage {
  switch (message.type) {
    case 'offer': {
      const { id, formats, size, ts, origin, leaves } = message.meta;
      // The sender fills the leaves in before it offers (send-side.ts); none here is a bug.
      if (leaves === undefined) throw new Error(`clip ${id.slice(0, 16)}… has no leaf hashes to offer`);
      return { type: FrameType.offer, header: { id, formats: formats.map((f) => ({ mime: f.mime, size: f.size })), size, ts, origin }, body: leaves };
    }
    case 'want': {
      const { id, offset, window, restart } = message;
      return { type: FrameType.want, header: restart === true ? { id, offset, window, restart } : { id, offset, window } };
    }
    case 'data':
      return { type: FrameType.data, header: { id: message.id, offset: message.offset }, body: message.body };
    case 'end':
      return { type: FrameType.end, header: { id: message.id } };
    case 'ack': {
      const { id, status, reason } = message;
      return { type: FrameType.ack, header: reason === undefined ? { id, status } : { id, status, reason: reason.slice(0, MAX_REASON_LENGTH) } };
    }
    case 'cancel':
      return { type: FrameType.cancel, header: { id: message.id } };
    case 'credit':
      return { type: FrameType.credit, header: { id: message.id, bytes: message.bytes } };
  }
}

/** Sends `message` on `channel`, waiting while the channel's buffers are full; rejects once it is closed. */
export function sendMessage(channel: PeerChannel, message: SyncMessage): Promise<void> {
  const { type, header, body } = encodeSyncMessage(message);
  return channel.send(type, header, body);
}

/**
 * Ids in WANT, DATA and the rest are only compared with ids this side issued or accepted, so
 * a length cap is all they need; an OFFER's id names a new clip and must be a content id.
 */
function readId(h: Record<string, unknown>): string {
  return field.string(h, 'id', ID_LENGTH);
}

/**
 * An OFFER's header, and its body: the clip's leaf hashes. The id must be their root with the
 * formats' trailer, so from here on the leaves are as trusted as the id, and the receiver can
 * check every leaf as it arrives (docs/PROTOCOL.md §5.1).
 */
function readMeta(h: Record<string, unknown>, body: Buffer): ClipMeta {
  const id = readId(h);
  if (!/^[0-9a-f]{64}$/.test(id)) throw malformed('clip id must be 64 hex digits');
  const formats = readFormats(h['formats']);
  const size = field.integer(h, 'size');
  if (formats.reduce((sum, f) => sum + f.size, 0) !== size) throw malformed('clip size is not the sum of its formats');
  if (body.length !== leafCount(size) * CONTENT_HASH_BYTES) throw malformed(`an OFFER of ${size} bytes carries ${leafCount(size)} leaf hashes of ${CONTENT_HASH_BYTES} bytes`);
  if (rootId(body, formatsTrailer(formats)) !== id) throw malformed('the clip id is not the root of its leaf hashes and formats');
  // A copy: the frame's body is a view of a decrypted message buffer, and the leaves outlive it.
  const leaves = Buffer.from(body);
  return { id, formats, mime: mainFormat(formats).mime, size, ts: field.integer(h, 'ts'), origin: field.string(h, 'origin', 128), leaves };
}

/** OFFER `formats`: 1 to MAX_FORMATS of `{mime, size}`, distinct types in canonical order. */
function readFormats(value: unknown): ClipFormat[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_FORMATS) throw malformed(`clip formats must be a list of 1 to ${MAX_FORMATS}`);
  const formats = value.map((entry: unknown): ClipFormat => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw malformed('each clip format must be an object');
    const f = entry as Record<string, unknown>;
    const mime = field.string(f, 'mime', MAX_MIME_LENGTH);
    if (!isValidMime(mime)) throw malformed('clip mime type is not a media type');
    return { mime, size: field.integer(f, 'size') };
  });
  const canonical = canonicalFormats(formats);
  // The id covers the order: a peer that sends another order (or a type twice) names other bytes.
  if (canonical.length !== formats.length || canonical.some((f, i) => f !== formats[i])) throw malformed('clip formats must be distinct and sorted by type');
  return formats;
}
