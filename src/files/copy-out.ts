import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fail, fileErrorReason } from '../core/errors.js';
import { settleAll } from '../core/settle-all.js';
import { rootsOf } from './manifest.js';
import type { FileTree } from './file-tree.js';

/** Files copied side by side: enough to keep the thread pool busy. */
const COPIES_AT_ONCE = 32;

/**
 * Writes a files clip out into `destination` (`clipsync paste --to DIR`): its top-level
 * entries become entries of DIR, folders made and files copied in manifest order, executables
 * kept executable. Nothing is overwritten: a top-level name DIR already has refuses the paste
 * before anything is written, naming it. A failure part way (a full disk) removes what this
 * paste wrote, so DIR is as it was.
 */
export async function copyTreeTo(tree: FileTree, destination: string): Promise<{ written: string[] }> {
  const info = await stat(destination).catch((err: unknown) => {
    throw fail('CLIPSYNC_ERR_USAGE', `cannot paste into ${destination} (${fileErrorReason(err)})`, { hint: 'name an existing folder' });
  });
  if (!info.isDirectory()) throw fail('CLIPSYNC_ERR_USAGE', `cannot paste into ${destination}: it is not a folder`, { hint: 'name an existing folder' });
  const roots = rootsOf(tree.manifest).map((e) => join(destination, e.path));
  for (const root of roots) {
    if (await lstat(root).then(() => true, () => false)) {
      throw fail('CLIPSYNC_ERR_EXISTS', `${root} already exists; nothing was pasted`, { hint: 'paste into another folder, or move that one away first' });
    }
  }
  try {
    // Folders first, in order (each is listed after its parent), then the files, side by side:
    // one at a time, a folder of 10,000 small files took seconds of thread-pool round trips.
    for (const entry of tree.manifest.entries) if (entry.dir === true) await mkdir(join(destination, entry.path));
    const files = tree.manifest.entries.filter((e) => e.dir !== true);
    for (let at = 0; at < files.length; at += COPIES_AT_ONCE) {
      const copies = files.slice(at, at + COPIES_AT_ONCE).map((entry, i) =>
        // A clone where the file system has them (btrfs, XFS, APFS), else a copy in the kernel;
        // the mode comes along (received files were made 0644, or 0755 when executable).
        copyFile(tree.files[at + i]!.source, join(destination, entry.path), constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE),
      );
      await settleAll(copies);
    }
  } catch (err) {
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }).catch(() => undefined)));
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw fail('CLIPSYNC_ERR_DISK_FULL', `the disk holding ${destination} is full; nothing was pasted`, { hint: 'free some space there, then paste again', cause: err });
    }
    throw fail('CLIPSYNC_ERR_FILE_UNREADABLE', `pasting into ${destination} failed (${code ?? (err as Error).message}); nothing was pasted`, { cause: err });
  }
  return { written: roots };
}
