import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, unlink } from 'node:fs/promises';
import { ClipsyncError, fail, isClipsyncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { claimUnixSocketPath } from '../transport/unix-socket.js';
import type { ErrorBody } from './schema.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
}

/** A handler returns a JSON body, or undefined once it has written the response itself. */
export type RouteHandler = (ctx: RouteContext) => Promise<unknown>;
export type RouteTable = Record<string, RouteHandler>;

const STATUS_FOR_CODE: Record<string, number> = {
  CLIPSYNC_ERR_NO_ROUTE: 404,
  CLIPSYNC_ERR_USAGE: 400,
  // The request was well formed; the file it names is not there or not readable.
  CLIPSYNC_ERR_FILE_UNREADABLE: 422,
  CLIPSYNC_ERR_NOTHING_TO_PASTE: 404,
  CLIPSYNC_ERR_CLIP_TOO_LARGE: 413,
  CLIPSYNC_ERR_UNKNOWN_PEER: 404,
  CLIPSYNC_ERR_NO_SUCH_CLIP: 404,
  // `paste --to`: the folder already has one of the names, or the clip is not files.
  CLIPSYNC_ERR_EXISTS: 409,
  CLIPSYNC_ERR_NOT_FILES: 409,
};

/**
 * The control API: HTTP over a Unix socket that only this user can open (directory 0700,
 * socket 0600). Routes are `METHOD /path`. A socket left by a crashed daemon is replaced;
 * a live one means another daemon owns this home, and this one refuses to start.
 */
export class IpcServer {
  private readonly server: Server;

  constructor(
    private readonly socketPath: string,
    routes: RouteTable,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => void this.dispatch(routes, req, res));
  }

  async listen(): Promise<void> {
    await claimUnixSocketPath(this.socketPath, { inUse: () => alreadyRunning(this.socketPath), privateDirectory: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? alreadyRunning(this.socketPath) : err),
      );
      // Create the socket already private: no window in which another user could connect.
      const oldMask = process.umask(0o177);
      try {
        this.server.listen(this.socketPath, () => resolve());
      } finally {
        process.umask(oldMask);
      }
    });
    await chmod(this.socketPath, 0o600);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.socketPath).catch(() => undefined);
  }

  private async dispatch(routes: RouteTable, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://clipsync');
    const handler = routes[`${req.method ?? 'GET'} ${url.pathname}`];
    try {
      if (handler === undefined) throw new ClipsyncError('CLIPSYNC_ERR_NO_ROUTE', `no such control request: ${req.method} ${url.pathname}`);
      const body = await handler({ req, res, query: url.searchParams });
      if (body !== undefined) sendJson(res, 200, body);
    } catch (err) {
      if (!isClipsyncError(err)) this.log.error({ err, route: url.pathname }, 'control request failed');
      const error = isClipsyncError(err) ? err : new ClipsyncError('CLIPSYNC_ERR_INTERNAL', 'internal error in the daemon; see its log');
      if (!res.headersSent) sendJson(res, STATUS_FOR_CODE[error.code] ?? 500, { error: error.toJSON() } satisfies ErrorBody);
      else res.destroy();
      // A body we will not use (an oversized clip): read and discard the rest rather than
      // close at once. Closing a socket with unread bytes in it sends a reset, which can wipe
      // the answer from the client's buffers, and the user would see "connection closed"
      // instead of the reason. Bounded: a client that keeps sending is cut after a while.
      if (!req.complete) {
        const cut = setTimeout(() => req.destroy(), DRAIN_UNREAD_BODY_MS);
        cut.unref();
        req.once('end', () => clearTimeout(cut));
        req.once('close', () => clearTimeout(cut));
        req.resume();
      }
    }
  }
}

/** How long the daemon keeps reading and discarding a request body it refused. */
const DRAIN_UNREAD_BODY_MS = 10_000;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function alreadyRunning(socketPath: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_ALREADY_RUNNING', `a clipsync daemon is already running for this home (control socket ${socketPath})`, {
    hint: 'use `clipsync status` to see it, or `clipsync stop` to stop it',
  });
}
