import { chmod, lstat, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Stats } from 'node:fs';
import { fail } from '../core/errors.js';
import { tempFile } from './spool-names.js';

/** The few file operations the spool needs to be crash safe, and nothing else. */

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Creates the spool directory private to the user, and refuses one that is not a real directory. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const info = await lstat(dir);
  if (!info.isDirectory()) {
    throw fail('CLIPSYNC_ERR_SPOOL', `the spool ${dir} is not a directory (or is a symbolic link)`, {
      hint: `remove it, or choose another home with --home`,
    });
  }
  // Clips are clipboard contents: nobody else may list or read them.
  if ((info.mode & 0o777) !== DIR_MODE) await chmod(dir, DIR_MODE);
}

/**
 * Makes a rename or unlink in `dir` durable. Some systems cannot fsync a directory; there the
 * rename is as durable as the platform allows, which is the best anyone can do.
 */
export async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes all of `data` at `position`: one positional write may store less than asked. */
export async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Replaces `path` with `body` so that a crash leaves either the old file or the new one,
 * never a torn one: write a temp sibling, sync it, rename it over, sync the directory.
 */
export async function replaceFileDurably(path: string, body: string): Promise<void> {
  const dir = dirname(path);
  const temp = tempFile(dir, basename(path));
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', FILE_MODE);
    await writeAll(handle, Buffer.from(body), 0);
    await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** The file's stats, or undefined when it does not exist or is not a regular file. */
export async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes files, ignoring ones already gone: for clean-up paths that must not throw. */
export async function removeQuietly(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true }).catch(() => undefined)));
}
