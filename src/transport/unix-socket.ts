import { connect } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail, type ClipsyncError } from '../core/errors.js';
import { assertPrivateDirectory } from './private-dir.js';

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

/**
 * Readies `path` for a listener: checks the length the kernel allows, creates the directory
 * (0700; with `privateDirectory`, also insists nobody else controls it), and clears a stale
 * socket. A live one raises `inUse()`; a non-socket file is never replaced.
 */
export async function claimUnixSocketPath(
  path: string,
  options: { inUse: () => ClipsyncError; privateDirectory?: boolean },
): Promise<void> {
  if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
    throw fail('CLIPSYNC_ERR_LISTEN', `the socket path ${path} is longer than the ${MAX_UNIX_PATH_BYTES} bytes Unix sockets allow`, {
      hint: 'use a shorter path (or a shorter --home directory)',
    });
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (options.privateDirectory === true) await assertPrivateDirectory(dirname(path));
  const state = await prepareUnixSocketPath(path);
  if (state === 'in-use') throw options.inUse();
  if (state === 'not-a-socket') throw fail('CLIPSYNC_ERR_LISTEN', `${path} exists and is not a socket; refusing to replace it`);
}
