import { isClipsyncError } from '../core/errors.js';
import type { IpcClient } from '../ipc/client.js';
import type { WatchEvent } from '../ipc/schema.js';

/** Between tries to reach a daemon that is not running: doubling up to the cap. */
const RETRY_FIRST_MS = 1000;
const RETRY_CAP_MS = 10_000;

export interface DaemonFollower {
  /** A line of the daemon's event stream (GET /v1/watch). */
  line(event: WatchEvent): void | Promise<void>;
  /** The stream ended or never began: the daemon stopped, or is not running yet. */
  down(): void | Promise<void>;
  /** Checked before each try: true ends the following. */
  stopped?(): boolean;
}

/**
 * Follows the daemon's event stream for as long as it runs, and waits for it while it does
 * not (status --watch, the tray): the stream is the daemon's own news, nothing here polls it;
 * only a daemon that is not there is tried again, at growing intervals.
 */
export async function followDaemon(client: IpcClient, follower: DaemonFollower): Promise<void> {
  let delay = RETRY_FIRST_MS;
  while (follower.stopped?.() !== true) {
    try {
      for await (const line of client.lines<WatchEvent>({ method: 'GET', path: '/v1/watch' })) {
        delay = RETRY_FIRST_MS;
        await follower.line(line);
      }
    } catch (err) {
      // Not running, or gone mid-stream (the socket reset, the response aborted): wait for it.
      // A fault of the command's own still ends it.
      if (isClipsyncError(err) && err.code !== 'CLIPSYNC_ERR_NOT_RUNNING' && err.code !== 'CLIPSYNC_ERR_IPC') throw err;
    }
    if (follower.stopped?.() === true) return;
    await follower.down();
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RETRY_CAP_MS);
  }
}
