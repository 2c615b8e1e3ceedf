import { basename, join, resolve } from 'node:path';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { fail, fileErrorReason } from '../core/errors.js';
import { checkRelativeName, foldName, type FileManifest, type ManifestEntry } from './manifest.js';

/** A file to send: where its bytes are here, and what it was when the manifest was made. */
export interface SourceFile {
  /** Absolute path on this machine. */
  source: string;
  size: number;
  /** Modification time and inode when walked: a file that differs when read was changed meanwhile. */
  mtimeMs: number;
  ino: number;
}

/** What was walked: the manifest, each file's source (in data order), and the roots' own paths. */
export interface WalkedTree {
  manifest: FileManifest;
  files: SourceFile[];
  /** The absolute path of each top-level entry, for the local clipboard's file list. */
  roots: string[];
  /** What was left out, for warnings: symlinks, devices, FIFOs, sockets. */
  skipped: { path: string; why: string }[];
}

export interface WalkLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * Walks the paths a user copied into a manifest: folders depth first (names in byte order,
 * so the same tree makes the same clip), regular files with their size and executable bit.
 * Symlinks, devices, FIFOs and sockets are skipped, each reported in `skipped`; the rest is
 * sent. Over the entry or byte limit, or a top-level name given twice, it throws naming why.
 */
export async function walkPaths(paths: readonly string[], limits: WalkLimits, cut = false): Promise<WalkedTree> {
  const entries: ManifestEntry[] = [];
  const files: SourceFile[] = [];
  const roots: string[] = [];
  const skipped: { path: string; why: string }[] = [];
  const topNames = new Map<string, string>();
  let totalBytes = 0;
  let walked = 0;

  const add = (entry: ManifestEntry): void => {
    entries.push(entry);
    if (entries.length > limits.maxEntries) {
      throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `more than ${limits.maxEntries} files and folders to copy`, {
        hint: 'copy fewer at once, or raise maxFileEntries in config.json on every machine',
      });
    }
  };

  const visit = async (source: string, name: string, info: Stats): Promise<void> => {
    checkRelativeName(name, (why) => fail('CLIPSYNC_ERR_FILE_UNREADABLE', `cannot copy ${source}: ${why}`));
    if (info.isDirectory()) {
      add({ path: name, dir: true });
      let children: string[];
      try {
        children = readdirSync(source).sort(byteOrder);
      } catch (err) {
        throw unreadable(source, err);
      }
      for (const child of children) {
        const path = join(source, child);
        const childInfo = lstatOrThrow(path);
        // Blocking calls (a thread-pool round trip per entry made a 10,000-file walk take
        // seconds), with a breath now and then so the daemon stays responsive.
        if (++walked % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
        const kind = skipReason(childInfo);
        if (kind !== undefined) skipped.push({ path, why: kind });
        else await visit(path, `${name}/${child}`, childInfo);
      }
      return;
    }
    totalBytes += info.size;
    if (totalBytes > limits.maxBytes) {
      throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the files are over the limit of ${limits.maxBytes} bytes`, {
        hint: 'copy fewer files, or raise maxClipBytes in config.json on every machine',
      });
    }
    add({ path: name, size: info.size, exec: (info.mode & 0o111) !== 0 });
    files.push({ source, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
  };

  for (const given of paths) {
    const source = resolve(given);
    const info = lstatOrThrow(source);
    const kind = skipReason(info);
    if (kind !== undefined) {
      skipped.push({ path: source, why: kind });
      continue;
    }
    const name = basename(source);
    const clash = topNames.get(foldName(name));
    if (clash !== undefined) {
      throw fail('CLIPSYNC_ERR_USAGE', `${clash} and ${source} would both be pasted as "${name}"`, { hint: 'copy them in two goes, or rename one' });
    }
    topNames.set(foldName(name), source);
    roots.push(source);
    await visit(source, name, info);
  }
  if (entries.length === 0) {
    throw fail('CLIPSYNC_ERR_FILE_UNREADABLE', 'nothing to copy: every path given is a symlink, device, FIFO or socket', { hint: 'name regular files or folders' });
  }
  return { manifest: { entries, count: entries.length, totalBytes, cut }, files, roots, skipped };
}

const YIELD_EVERY = 256;

/** Why an entry is not sent, or undefined for a regular file or folder. */
function skipReason(info: Stats): string | undefined {
  if (info.isSymbolicLink()) return 'a symlink (not followed, not sent)';
  if (info.isFile() || info.isDirectory()) return undefined;
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}

function lstatOrThrow(path: string): Stats {
  try {
    return lstatSync(path);
  } catch (err) {
    throw unreadable(path, err);
  }
}

function unreadable(path: string, err: unknown) {
  return fail('CLIPSYNC_ERR_FILE_UNREADABLE', `cannot read ${path} (${fileErrorReason(err)})`, { hint: 'check the path and its permissions', cause: err });
}

/** Names in byte order of their UTF-8, the same on every platform and locale. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
