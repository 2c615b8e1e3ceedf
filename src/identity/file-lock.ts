import { open, stat, unlink } from 'node:fs/promises';
import { fail } from '../core/errors.js';

/** A lock older than this is taken to be left by a crashed process. */
const STALE_AFTER_MS = 10_000;
const GIVE_UP_AFTER_MS = 10_000;
const RETRY_MS = 25;

/**
 * Runs `fn` holding `<file>.lock`, created with O_EXCL so that only one process at a time
 * edits `file`. Read-modify-write edits of the trust store and config from several
 * `clipsync` commands at once would otherwise lose changes (last rename wins).
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${file}.lock`;
  const deadline = Date.now() + GIVE_UP_AFTER_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_AFTER_MS) await unlink(lockPath).catch(() => undefined);
      else if (Date.now() > deadline) {
        throw fail('CLIPSYNC_ERR_TRUST', `${file} is locked by another clipsync command`, { hint: `if none is running, remove ${lockPath}` });
      } else await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
