import { lstat } from 'node:fs/promises';
import { fail } from '../core/errors.js';

/**
 * Checks that the directory holding a control socket belongs to this user and that nobody
 * else can write to it. Without that, another local user who created the directory first
 * (e.g. /tmp/clipsync-UID) could swap the socket and read or set this user's clipboard.
 */
export async function assertPrivateDirectory(dir: string): Promise<void> {
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory()) throw unsafe(dir, 'it is not a directory (or is a symbolic link)');
  if (uid !== undefined && info.uid !== uid) throw unsafe(dir, `it belongs to user ${info.uid}, not to you (${uid})`);
  if ((info.mode & 0o022) !== 0) throw unsafe(dir, 'other users can write to it');
}

function unsafe(dir: string, why: string) {
  return fail('CLIPSYNC_ERR_IPC', `refusing to use the control socket directory ${dir}: ${why}`, {
    hint: `remove it (or fix its owner and mode: chmod 700 ${dir}), or choose another with --home`,
  });
}
