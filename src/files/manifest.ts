import { fail, type ClipsyncError } from '../core/errors.js';

/**
 * The manifest of a files clip: which files and folders were copied, as relative names, with
 * each file's size and executable bit. It travels as the clip's first format, so the receiver
 * knows every name before a byte of any file arrives, and checks them all (`parseManifest`)
 * before it creates anything. The files' bytes follow in the second format, concatenated in
 * manifest order. docs/PROTOCOL.md §5.6.
 */

/** The manifest's type; it sorts before DATA_MIME, so it is at the start of the clip's body. */
export const MANIFEST_MIME = 'application/vnd.clipsync.files+json';
/** The files' bytes, concatenated in manifest order. */
export const DATA_MIME = 'application/vnd.clipsync.files-data';
export const MANIFEST_VERSION = 1;
/** Config `maxFileEntries` by default: files and folders in one clip. */
export const DEFAULT_MAX_ENTRIES = 100_000;
/** The longest name of one file or folder (NAME_MAX on Linux and macOS), in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** The longest relative path, in UTF-8 bytes: PATH_MAX less room for the per-clip directory. */
export const MAX_PATH_BYTES = 3072;
/** The largest manifest a receiver holds in memory to check it: 100,000 entries of long names fit with room to spare. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** A file (with its size) or a folder, by its relative name with `/` between components. */
export type ManifestEntry = { path: string; dir: true } | { path: string; size: number; exec: boolean; dir?: false };

export interface FileManifest {
  entries: ManifestEntry[];
  /** Files and folders. */
  count: number;
  /** Bytes of every file together: the size of the clip's data format. */
  totalBytes: number;
  /** The file manager copied them for a move (GNOME's `cut`, KDE's cut marker). Offered as a copy on the other side. */
  cut: boolean;
}

/** Whether a clip is a files clip: exactly a manifest and the files' bytes, in that order. */
export function isFilesMeta(meta: { formats: readonly { mime: string }[] }): boolean {
  return meta.formats.length === 2 && meta.formats[0]!.mime === MANIFEST_MIME && meta.formats[1]!.mime === DATA_MIME;
}

/**
 * Where each file ends in a files clip's body (the manifest first), ascending, for progress
 * in files: worked out once, the first time it is asked for after `manifest()` knows it (a
 * receiver learns the manifest with the clip's first bytes).
 */
export function fileEndsOnceKnown(manifest: () => FileManifest | undefined, manifestBytes: number): () => number[] | undefined {
  let ends: number[] | undefined;
  return () => {
    const known = ends === undefined ? manifest() : undefined;
    if (known !== undefined) ends = fileSpans(known).map((s) => manifestBytes + s.start + s.size);
    return ends;
  };
}

/** The top-level entries: what a file manager pastes, and what `text/uri-list` lists. */
export function rootsOf(manifest: FileManifest): ManifestEntry[] {
  return manifest.entries.filter((e) => !e.path.includes('/'));
}

/** Files only, in data order, with where each one's bytes start in the data format. */
export function fileSpans(manifest: FileManifest): { index: number; path: string; start: number; size: number }[] {
  const spans: { index: number; path: string; start: number; size: number }[] = [];
  let at = 0;
  manifest.entries.forEach((entry, index) => {
    if (entry.dir === true) return;
    spans.push({ index, path: entry.path, start: at, size: entry.size });
    at += entry.size;
  });
  return spans;
}

/** The manifest as it travels: compact JSON, `d` for a folder, `s` (size) and `x` (executable) for a file. */
export function encodeManifest(manifest: FileManifest): Buffer {
  const entries = manifest.entries.map((e) => (e.dir === true ? { p: e.path, d: 1 } : e.exec ? { p: e.path, s: e.size, x: 1 } : { p: e.path, s: e.size }));
  return Buffer.from(JSON.stringify({ version: MANIFEST_VERSION, count: manifest.count, totalBytes: manifest.totalBytes, cut: manifest.cut, entries }), 'utf8');
}

export interface ManifestLimits {
  /** The most entries (config `maxFileEntries`). */
  maxEntries: number;
  /**
   * Names that differ only in case (or Unicode normalization) are one file here: macOS's file
   * systems fold them, so two such entries would overwrite each other.
   */
  foldsCase: boolean;
}

/** Whether this platform's usual file systems fold case (APFS and HFS+ do). */
export const PLATFORM_FOLDS_CASE = process.platform === 'darwin' || process.platform === 'win32';

/**
 * Reads and checks a manifest from a peer. Every name must be relative and clean (no absolute
 * path, no `..`, no empty or `.` component, no NUL, none over the platform's limits), unique
 * (also when folded, where the platform folds case), and inside a folder listed before it;
 * sizes must add up to `dataBytes`. Anything else refuses the whole clip, naming the entry.
 */
export function parseManifest(bytes: Buffer, dataBytes: number, limits: ManifestLimits): FileManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw badManifest('it is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw badManifest('it is not a JSON object');
  const { version, count, totalBytes, cut, entries } = raw as Record<string, unknown>;
  if (version !== MANIFEST_VERSION) throw badManifest(`version ${JSON.stringify(version)} is not ${MANIFEST_VERSION}; update clipsync on both machines`);
  if (!Array.isArray(entries)) throw badManifest('it has no entry list');
  if (count !== entries.length) throw badManifest(`it says ${JSON.stringify(count)} entries but lists ${entries.length}`);
  if (entries.length > limits.maxEntries) {
    throw badManifest(`${entries.length} entries are over this machine's limit of ${limits.maxEntries}`, 'raise maxFileEntries in config.json on the receiving machine, or copy fewer files');
  }
  if (totalBytes !== dataBytes) throw badManifest(`it says ${JSON.stringify(totalBytes)} bytes of files but the clip carries ${dataBytes}`);
  const seen = new Map<string, 'dir' | 'file'>();
  const folded = new Set<string>();
  const out: ManifestEntry[] = [];
  let sum = 0;
  entries.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) throw badEntry(index, undefined, 'it is not an object');
    const { p, d, s, x } = item as Record<string, unknown>;
    if (typeof p !== 'string') throw badEntry(index, undefined, 'it has no name');
    checkRelativeName(p, (why) => badEntry(index, p, why));
    if (seen.has(p)) throw badEntry(index, p, 'the name is listed twice');
    const key = limits.foldsCase ? foldName(p) : p;
    if (limits.foldsCase && folded.has(key)) throw badEntry(index, p, 'another entry has the same name but for case or accents, which this file system does not tell apart');
    const slash = p.lastIndexOf('/');
    if (slash >= 0 && seen.get(p.slice(0, slash)) !== 'dir') throw badEntry(index, p, 'its folder is not listed before it');
    if (d !== undefined) {
      if (d !== 1 || s !== undefined || x !== undefined) throw badEntry(index, p, 'a folder has no size or mode');
      out.push({ path: p, dir: true });
      seen.set(p, 'dir');
    } else {
      if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) throw badEntry(index, p, 'its size is not a whole number of bytes');
      if (x !== undefined && x !== 1) throw badEntry(index, p, 'its mode is not 1 (executable) or absent');
      sum += s;
      if (sum > dataBytes) throw badEntry(index, p, `the files' sizes pass the ${dataBytes} bytes the clip carries`);
      out.push({ path: p, size: s, exec: x === 1 });
      seen.set(p, 'file');
    }
    folded.add(key);
  });
  if (sum !== dataBytes) throw badManifest(`its files add up to ${sum} bytes, not the ${dataBytes} the clip carries`);
  if (out.length === 0) throw badManifest('it lists nothing');
  return { entries: out, count: out.length, totalBytes: sum, cut: cut === true };
}

/**
 * Throws (through `refuse`) unless `path` is a clean relative name: components separated by
 * single `/`, none empty, `.` or `..`, no NUL, each within NAME_MAX and the whole within
 * MAX_PATH_BYTES, so joined to a directory it can only name something inside it.
 */
export function checkRelativeName(path: string, refuse: (why: string) => ClipsyncError): void {
  if (path === '') throw refuse('the name is empty');
  if (path.includes('\0')) throw refuse('the name contains a NUL byte');
  if (path.startsWith('/')) throw refuse('the name is an absolute path');
  if (/^[A-Za-z]:/.test(path) || path.includes('\\')) throw refuse('the name has a drive letter or a backslash');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) throw refuse(`the name is over ${MAX_PATH_BYTES} bytes`);
  if (!isWellFormedUtf16(path)) throw refuse('the name is not valid Unicode');
  for (const part of path.split('/')) {
    if (part === '') throw refuse('the name has an empty component (a doubled or trailing /)');
    if (part === '.' || part === '..') throw refuse(`the name has a "${part}" component`);
    if (Buffer.byteLength(part, 'utf8') > MAX_NAME_BYTES) throw refuse(`a component is over ${MAX_NAME_BYTES} bytes`);
  }
}

/** The name as a case- and normalization-insensitive file system sees it. */
export function foldName(path: string): string {
  return path.normalize('NFD').toLowerCase().normalize('NFC');
}

function isWellFormedUtf16(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

function badManifest(why: string, hint = 'nothing of this clip was written; the sender may be running a broken or hostile client'): ClipsyncError {
  return fail('CLIPSYNC_ERR_BAD_MANIFEST', `refused a files clip: its manifest is unusable: ${why}`, { hint });
}

function badEntry(index: number, path: string | undefined, why: string): ClipsyncError {
  // A long name is cut in the message: the reason travels back to the sender in ≤ 300 characters.
  const shown = path === undefined ? undefined : Array.from(path).length > 80 ? `${Array.from(path).slice(0, 40).join('')}…` : path;
  const name = shown === undefined ? `entry ${index + 1}` : `entry ${index + 1} ${JSON.stringify(shown)}`;
  return fail('CLIPSYNC_ERR_BAD_MANIFEST', `refused a files clip: ${name}: ${why}`, {
    hint: 'nothing of this clip was written; the sender may be running a broken or hostile client',
  });
}
