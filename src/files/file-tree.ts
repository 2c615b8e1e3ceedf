import fs, { type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fail, fileErrorReason } from '../core/errors.js';
import { settleAll } from '../core/settle-all.js';
import type { FileManifest } from './manifest.js';

/** One file of a tree: where its bytes are on this machine, and what it must still be when read. */
export interface TreeFile {
  source: string;
  size: number;
  /** When known (the sender's own files), a file with another mtime or inode was changed since it was hashed. */
  mtimeMs?: number;
  ino?: number;
}

/**
 * The body of a files clip on this machine: the manifest (the clip's first format) and the
 * files whose bytes, concatenated in manifest order, are its second. On the sender the files
 * are where the user copied them from; on a receiver they are in the clip's own directory.
 */
export interface FileTree {
  manifest: FileManifest;
  manifestBytes: Buffer;
  /** The files in data order (the manifest's file entries, folders left out). */
  files: TreeFile[];
  /** Absolute paths of the top-level entries here: what the desktop's file list names. */
  roots: string[];
  /** On a receiver, the clip's directory (`filesDir/<id>`); undefined on the sender. */
  dir?: string;
}

/** The body's size: the manifest, then every file. */
export function treeSize(tree: FileTree): number {
  return tree.manifestBytes.length + tree.manifest.totalBytes;
}

/**
 * Positional reads of a files clip's body, as if it were one file: the manifest's bytes, then
 * each file's in turn, opened when its first byte is asked for. A file whose size, mtime or
 * inode is not what it was when the clip was made (changed, replaced or truncated since, or
 * while being read) fails the read with CLIPSYNC_ERR_FILE_CHANGED, naming it: the receiver
 * would otherwise get bytes that match no hash, and give up only after asking three times.
 */
export class TreeReader {
  /** Where each file's bytes start in the body. */
  private readonly starts: number[];
  private openFile: { index: number; handle: FileHandle } | undefined;

  constructor(private readonly tree: FileTree) {
    let at = tree.manifestBytes.length;
    this.starts = tree.files.map((f) => {
      const start = at;
      at += f.size;
      return start;
    });
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    let done = 0;
    const manifest = this.tree.manifestBytes;
    if (position < manifest.length) {
      done = manifest.copy(buffer, offset, position, Math.min(manifest.length, position + length));
    }
    let index = this.fileAt(position + done);
    // Small files in this range are read side by side on the thread pool: their bytes are
    // copied out of the page cache there, while this thread encrypts the chunk before.
    const small: Promise<void>[] = [];
    while (done < length && index < this.tree.files.length) {
      const file = this.tree.files[index]!;
      const inFile = position + done - this.starts[index]!;
      const want = Math.min(length - done, file.size - inFile);
      if (want > 0 && file.size <= SMALL_FILE_BYTES) {
        small.push(readSmall(file, buffer.subarray(offset + done, offset + done + want), inFile));
        done += want;
      } else if (want > 0) {
        await settleAll(small.splice(0));
        const handle = await this.handleFor(index);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await handle.read(buffer, offset + done + got, want - got, inFile + got);
          if (bytesRead === 0) throw changed(file.source, `it is shorter than the ${file.size} bytes it had`);
          got += bytesRead;
        }
        done += want;
        // Read to its end: it must still be the file that was hashed (not written meanwhile).
        if (inFile + want === file.size) await this.checkUnchanged(index, handle);
      }
      index++;
    }
    await settleAll(small);
    return { bytesRead: done };
  }

  async close(): Promise<void> {
    const current = this.openFile;
    this.openFile = undefined;
    await current?.handle.close().catch(() => undefined);
  }

  /** The index of the file holding body byte `position` (past the last: files.length). */
  private fileAt(position: number): number {
    let low = 0;
    let high = this.starts.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const file = this.tree.files[mid]!;
      if (this.starts[mid]! + file.size <= position) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private async handleFor(index: number): Promise<FileHandle> {
    if (this.openFile?.index === index) return this.openFile.handle;
    await this.close();
    const file = this.tree.files[index]!;
    let handle: FileHandle;
    try {
      handle = await open(file.source, 'r');
    } catch (err) {
      throw openError(file, err);
    }
    this.openFile = { index, handle };
    await this.checkUnchanged(index, handle);
    return handle;
  }

  private async checkUnchanged(index: number, handle: FileHandle): Promise<void> {
    checkStats(this.tree.files[index]!, await handle.stat());
  }
}

/** Files up to this size are read (and, received, written) side by side on the thread pool: see `readSmall`. */
export const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * A small file (or the part of it asked for), with the same checks as a large one: open, the
 * read, its stats, close. Read to its end, one look at its stats after the read covers every
 * change since the walk (size, mtime, inode); only a part read stops before the end, and
 * that is checked before it is read. Callback calls, not FileHandles: thousands of these run
 * in a row, and each FileHandle (or each extra call) costs this thread more than the read itself.
 */
function readSmall(file: TreeFile, into: Buffer, position: number): Promise<void> {
  const toEnd = position + into.length === file.size;
  return new Promise((resolve, reject) => {
    fs.open(file.source, 'r', (openErr, fd) => {
      if (openErr !== null) return reject(openError(file, openErr));
      const finish = (err: unknown): void => fs.close(fd, () => (err === undefined ? resolve() : reject(err)));
      const checked = (then: () => void) => (statErr: NodeJS.ErrnoException | null, stats: fs.Stats): void => {
        if (statErr !== null) return finish(statErr);
        try {
          checkStats(file, stats);
        } catch (err) {
          return finish(err);
        }
        then();
      };
      const readFrom = (got: number): void => {
        if (got === into.length) {
          if (!toEnd) return finish(undefined);
          return fs.fstat(fd, checked(() => finish(undefined)));
        }
        fs.read(fd, into, got, into.length - got, position + got, (readErr, bytesRead) => {
          if (readErr !== null) return finish(readErr);
          if (bytesRead === 0) return finish(changed(file.source, `it is shorter than the ${file.size} bytes it had`));
          readFrom(got + bytesRead);
        });
      };
      if (toEnd) readFrom(0);
      else fs.fstat(fd, checked(() => readFrom(0)));
    });
  });
}

/** Throws FILE_CHANGED unless `info` is still the file that was hashed. */
function checkStats(file: TreeFile, info: Stats): void {
  if (!info.isFile()) throw changed(file.source, 'it is no longer a regular file');
  if (info.size !== file.size) throw changed(file.source, `its size went from ${file.size} to ${info.size} bytes`);
  if (file.ino !== undefined && info.ino !== file.ino) throw changed(file.source, 'it was replaced by another file');
  if (file.mtimeMs !== undefined && info.mtimeMs !== file.mtimeMs) throw changed(file.source, 'it was modified');
}

function openError(file: TreeFile, err: unknown) {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? changed(file.source, 'it was removed') : fail('CLIPSYNC_ERR_FILE_UNREADABLE', `cannot read ${file.source} (${fileErrorReason(err)})`, { cause: err });
}

function changed(path: string, what: string) {
  return fail('CLIPSYNC_ERR_FILE_CHANGED', `${path} changed while it was being copied: ${what}`, { hint: 'copy the files again once they stay put' });
}
