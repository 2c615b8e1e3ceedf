import { contentTree } from '../content/content-hash.js';
import type { FileTree } from '../files/file-tree.js';
import type { FileManifest } from '../files/manifest.js';

/** One representation of a clip: a media type and how many of the clip's bytes are its. */
export interface ClipFormat {
  mime: string;
  size: number;
}

/** What peers exchange about a clip before its bytes. */
export interface ClipMeta {
  /** The content id (see `clipId`): used for dedupe, spool names and the receiver's verification. */
  id: string;
  /**
   * Every representation of the one copy, in canonical order (sorted by type). The clip's
   * bytes are theirs, concatenated in this order: a single body, so one transfer, one spool
   * file and one verification cover them all.
   */
  formats: ClipFormat[];
  /** The main type (`mainFormat`): what `paste` gives without --mime, and the `mime` of JSON replies. */
  mime: string;
  /** All representations' bytes together. */
  size: number;
  /** Hybrid logical clock timestamp (ms) of the copy that made it. */
  ts: number;
  /** Fingerprint of the daemon where it was copied. */
  origin: string;
  /**
   * The BLAKE3 hash of each 1 MiB leaf of the body, concatenated (content/content-hash.ts):
   * what the id covers, and what a receiver checks each leaf against as it arrives. Set on
   * every clip that came from a peer or was hashed here; a clip made without it gets it
   * computed when it is first offered.
   */
  leaves?: Buffer;
}

/**
 * A clip with its bytes: in memory (`data`) when small, else in a spool file (`file`, named
 * by the content id) so that a large clip is never held whole in memory. A clip with neither
 * is *announced* (a lazy clip, over `eagerLimitBytes`): its bytes are still on peer `from`
 * and move only when someone pastes it (`SyncEngine.fetch`). docs/PROTOCOL.md §5.4.
 */
export interface Clip extends ClipMeta {
  data?: Buffer;
  file?: string;
  /** A files clip held here: its manifest and where its files are (files/file-tree.ts). */
  tree?: FileTree;
  /**
   * A files clip only announced here: its manifest, fetched ahead of the files' bytes, and
   * where its top-level entries will be, so the desktop can be offered the files' local names
   * at once (docs/PROTOCOL.md §5.6).
   */
  files?: { manifest: FileManifest; roots: string[] };
  /**
   * Set on an announced clip only: the fingerprint of the peer that offered it, which holds
   * its bytes and is asked for them (WANT) when the clip is pasted.
   */
  from?: string;
}

/** Whether this daemon holds the clip's bytes (in memory or the spool), rather than only its announcement. */
export function isLocal(clip: Clip): boolean {
  return clip.data !== undefined || clip.file !== undefined || clip.tree !== undefined;
}

/**
 * Whether the clip has files on this machine that clean-up must leave alone while it is
 * current or remembered: a spool file, received files, or a files clip's fetched manifest.
 */
export function holdsFilesHere(clip: Clip): boolean {
  return clip.file !== undefined || clip.tree?.dir !== undefined || clip.files !== undefined;
}

/** A clip whose bytes are in memory: what clipboard backends are given. */
export interface InMemoryClip extends ClipMeta {
  data: Buffer;
}

export const MAX_MIME_LENGTH = 255;
// Printable ASCII only, as RFC 2045 has it: a type is shown to people, written into X11 atom
// names, and sorted (byte order and string order agree on ASCII).
const MIME_PATTERN = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+( *;[\x20-\x7e]*)?$/;

/** A media type such as `text/plain` or `image/png;foo=bar`: the one check, used on every path a type enters. */
export function isValidMime(mime: string): boolean {
  return mime.length <= MAX_MIME_LENGTH && MIME_PATTERN.test(mime);
}
export const TEXT_MIME = 'text/plain;charset=utf-8';
export const BINARY_MIME = 'application/octet-stream';

/** The most representations one clip may have (a browser offers about five). */
export const MAX_FORMATS = 32;

/**
 * Puts formats in canonical order (by type, so two readers of the same copy agree on the id)
 * and drops exact duplicates of a type, keeping the first.
 */
export function canonicalFormats<T extends { mime: string }>(formats: readonly T[]): T[] {
  const seen = new Set<string>();
  return [...formats].sort((a, b) => (a.mime < b.mime ? -1 : a.mime > b.mime ? 1 : 0)).filter((f) => !seen.has(f.mime) && seen.add(f.mime) !== undefined);
}

/**
 * What the content id covers besides the bytes: the UTF-8 JSON `[[mime, size], …]` of the
 * formats in order, then its length as 4 bytes big-endian. Hashed after the body, so a
 * stream can be hashed before its types are known (a `copy` guesses text from the bytes),
 * and read from the end it parses one way only: the id names exactly one set of
 * representations. docs/PROTOCOL.md §5.1.
 */
export function formatsTrailer(formats: readonly ClipFormat[]): Buffer {
  const json = Buffer.from(JSON.stringify(formats.map((f) => [f.mime, f.size])), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([json, length]);
}

/** The content id of a clip held in memory (docs/PROTOCOL.md §5.1), hex. */
export function clipId(formats: readonly ClipFormat[], body: Buffer): string {
  return clipTree(formats, body).id;
}

/** The content id and leaf hashes of a clip held in memory. */
export function clipTree(formats: readonly ClipFormat[], body: Buffer): { id: string; leaves: Buffer } {
  return contentTree(body, formatsTrailer(formats));
}

/** Where each format's bytes start in the clip's body. */
export function formatOffsets(formats: readonly ClipFormat[]): number[] {
  let at = 0;
  return formats.map((f) => {
    const start = at;
    at += f.size;
    return start;
  });
}

/** The format `paste` gives by default: text when there is text, else the first. */
export function mainFormat(formats: readonly ClipFormat[]): ClipFormat {
  return formats.find((f) => f.mime === TEXT_MIME) ?? formats.find((f) => isText(f.mime) && f.mime.startsWith('text/plain')) ?? formats.find((f) => isText(f.mime)) ?? formats[0]!;
}

/** A clip's representations in memory, in any order: canonical formats, one body, and its id. */
export function assembleClip(parts: readonly { mime: string; data: Buffer }[]): { id: string; leaves: Buffer; formats: ClipFormat[]; mime: string; size: number; data: Buffer } {
  const ordered = canonicalFormats(parts);
  const formats = ordered.map((p) => ({ mime: p.mime, size: p.data.length }));
  const data = ordered.length === 1 ? ordered[0]!.data : Buffer.concat(ordered.map((p) => p.data));
  return { ...clipTree(formats, data), formats, mime: mainFormat(formats).mime, size: data.length, data };
}

/** The one format of `mime` among a clip's, matching `text/plain` to `text/plain;charset=utf-8`. */
export function findFormat(formats: readonly ClipFormat[], wanted: string): ClipFormat | undefined {
  return formats.find((f) => f.mime.toLowerCase() === wanted.toLowerCase()) ?? (wanted.includes(';') ? undefined : formats.find((f) => baseType(f.mime) === baseType(wanted)));
}

function baseType(mime: string): string {
  return mime.split(';', 1)[0]!.trim().toLowerCase();
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

/** The same clip: the id covers every representation's type and bytes. */
export function sameContent(a: { id: string }, b: { id: string } | undefined): boolean {
  return b !== undefined && a.id === b.id;
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

/** What a clip is, for people and the control API: its meta without the leaf hashes, which are for peers. */
export function describeClip(clip: ClipMeta): Omit<ClipMeta, 'leaves'> {
  return { id: clip.id, formats: clip.formats, mime: clip.mime, size: clip.size, ts: clip.ts, origin: clip.origin };
}

export function metaOf(clip: ClipMeta): ClipMeta {
  const meta: ClipMeta = describeClip(clip);
  if (clip.leaves !== undefined) meta.leaves = clip.leaves;
  return meta;
}
