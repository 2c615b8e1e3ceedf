import { connect } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';

/**
 * Makes a Unix socket path ready to listen on. A socket file left by a crashed process is
 * removed; one with a live listener is reported as in use, never stolen. Anything that is
 * not a socket is left alone and reported, so a typo cannot delete a user's file.
 */
export async function prepareUnixSocketPath(path: string): Promise<'free' | 'in-use' | 'not-a-socket'> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
    throw err;
  }
  if (!stats.isSocket()) return 'not-a-socket';
  if (await isListening(path)) return 'in-use';
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return 'free';
}

/** True when something accepts connections on the socket. */
export function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The longest path the kernel accepts in sockaddr_un, less the terminating NUL. */
export const MAX_UNIX_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;
