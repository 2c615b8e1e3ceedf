import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fail, fileErrorReason, isClipsyncError, type ClipsyncError } from '../core/errors.js';
import { Utf8Check, readCopyBody, tooLarge, type LocalStore, type ReceivedCopy } from './copy-body.js';

/** The daemon reads a copied file in pieces this big: few trips to the thread pool, little memory. */
const READ_BYTES = 1024 * 1024;

/**
 * `clipsync copy FILE`: the daemon reads the file itself, by its path, at disk speed, rather
 * than taking its bytes through the control socket. Only the same user can reach the socket
 * (0600 in a 0700 directory), and the daemon runs as that user, so it reads exactly what the
 * user could. A file that changes while it is read (its size, modification time or inode
 * differs after the last byte from before the first, or it ends early or late) is refused:
 * such a clip would be no version of the file at all. Nothing of it is made current or offered.
 */
export async function readCopyFile(path: string, mime: string | null, limit: number, threshold: number, store: LocalStore | undefined): Promise<ReceivedCopy> {
  if (!isAbsolute(path)) throw fail('CLIPSYNC_ERR_USAGE', `the file to copy must be given by an absolute path, not "${path}"`);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const before = await handle.stat();
    if (!before.isFile()) throw fail('CLIPSYNC_ERR_USAGE', `${path} is not a regular file`, { hint: 'copy a file, or pipe other data into `clipsync copy`' });
    if (before.size > limit) throw tooLarge(limit, before.size);
    let received: ReceivedCopy;
    try {
      if (store !== undefined && before.size > threshold) {
        // Large: the spool hashes the file, holds it open, and copies it when told (spool.ts).
        const utf8 = new Utf8Check();
        const typeOf = (): string => mime ?? utf8.mime();
        const inspect = mime === null ? (piece: Buffer) => utf8.update(piece) : undefined;
        // It was under the limit before the copy: over it now, it grew meanwhile.
        const stored = await store
          .storeLocalFile(path, (size) => [{ mime: typeOf(), size }], { maxBytes: limit, ...(inspect === undefined ? {} : { inspect }) })
          .catch((err: unknown) => Promise.reject(isClipsyncError(err) && err.code === 'CLIPSYNC_ERR_CLIP_TOO_LARGE' ? changedWhileRead(path) : err));
        received = { body: { file: stored.path, id: stored.id, size: stored.size, leaves: stored.leaves }, mime: typeOf(), copy: stored.copy };
      } else {
        const stream = handle.createReadStream({ start: 0, highWaterMark: READ_BYTES, autoClose: false });
        received = await readCopyBody(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>, mime, limit, threshold, store);
      }
    } catch (err) {
      throw isClipsyncError(err) ? err : unreadable(path, err); // a read error (EIO) names the file
    }
    try {
      const read = received.body.data?.length ?? received.body.size ?? 0;
      const after = await handle.stat();
      const there = await stat(path).catch(() => undefined);
      if (read !== before.size || changed(before, after) || there === undefined || changed(before, there)) throw changedWhileRead(path);
    } catch (err) {
      await received.copy?.cancel(); // not the clip: the spool lets go of the file it holds
      throw err;
    }
    return received;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function changed(before: Stats, now: Stats): boolean {
  return now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.dev !== before.dev;
}

function changedWhileRead(path: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_FILE_CHANGED', `${path} changed while it was being copied; nothing was copied`, {
    hint: 'copy it again once nothing is writing to it (or copy a snapshot: cp it elsewhere first)',
  });
}

function unreadable(path: string, err: unknown): ClipsyncError {
  return fail('CLIPSYNC_ERR_FILE_UNREADABLE', `cannot read ${path} (${fileErrorReason(err)})`, { hint: 'check the path and that you can read the file', cause: err });
}
