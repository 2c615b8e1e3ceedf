import { contentHash } from '../content/content-hash.js';

/** What peers exchange about a clip before its bytes. */
export interface ClipMeta {
  /** BLAKE2b-256 of the bytes, hex: the content id used for dedupe and verification. */
  id: string;
  mime: string;
  size: number;
  /** Hybrid logical clock timestamp (ms) of the copy that made it. */
  ts: number;
  /** Fingerprint of the daemon where it was copied. */
  origin: string;
}

/**
 * A clip with its bytes: in memory (`data`) when small, else in a spool file (`file`, named
 * by the content id) so that a large clip is never held whole in memory.
 */
export interface Clip extends ClipMeta {
  data?: Buffer;
  file?: string;
}

/** A clip whose bytes are in memory: what clipboard backends are given. */
export interface InMemoryClip extends ClipMeta {
  data: Buffer;
}

export const MAX_MIME_LENGTH = 255;
const MIME_PATTERN = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;.*)?$/;

/** A media type such as `text/plain` or `image/png;foo=bar`: the one check, used on every path a type enters. */
export function isValidMime(mime: string): boolean {
  return mime.length <= MAX_MIME_LENGTH && MIME_PATTERN.test(mime);
}
export const TEXT_MIME = 'text/plain;charset=utf-8';
export const BINARY_MIME = 'application/octet-stream';

export function contentId(data: Buffer): string {
  return contentHash(data).toString('hex');
}

/**
 * Last writer wins by (timestamp, origin fingerprint). The hybrid clock makes a copy made
 * after seeing a clip always newer than it; the fingerprint breaks exact ties the same way
 * on every daemon.
 */
export function isNewer(candidate: ClipMeta, current: ClipMeta | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.ts !== current.ts) return candidate.ts > current.ts;
  return candidate.origin > current.origin;
}

/** The same clip: identical bytes and type. */
export function sameContent(a: { id: string; mime: string }, b: { id: string; mime: string } | undefined): boolean {
  return b !== undefined && a.id === b.id && a.mime === b.mime;
}

/** text/plain for valid UTF-8, octet-stream otherwise: the type `copy` assumes without --mime. */
export function guessMime(data: Buffer): string {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return TEXT_MIME;
  } catch {
    return BINARY_MIME;
  }
}

export function isText(mime: string): boolean {
  return mime.startsWith('text/');
}

export function metaOf(clip: ClipMeta): ClipMeta {
  return { id: clip.id, mime: clip.mime, size: clip.size, ts: clip.ts, origin: clip.origin };
}
