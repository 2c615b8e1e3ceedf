import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { assertPrivateDirectory } from '../transport/private-dir.js';
import { ClipsyncError, fail, type ErrorCode } from '../core/errors.js';
import type { ErrorBody } from './schema.js';

export interface IpcRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  body?: Buffer | Readable;
}

/**
 * Talks to the daemon's control socket. A missing or dead socket becomes the
 * "daemon not running" error (exit 3) with a hint on how to start it; an error answer from
 * the daemon becomes a ClipsyncError with the daemon's code, message and hint.
 */
export class IpcClient {
  /** `startCommand`: how this user starts the daemon for this socket (the not-running hint names it). */
  constructor(
    readonly socketPath: string,
    private readonly startCommand = 'clipsync daemon',
  ) {}

  /** Sends a request; resolves with the response stream once headers arrive and the status is 2xx. */
  async open(req: IpcRequest): Promise<IncomingMessage> {
    await this.checkDirectory();
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) search.set(k, v);
    const path = search.size > 0 ? `${req.path}?${search.toString()}` : req.path;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      // `servername: ''`: the default Agent otherwise works out a TLS server name for every
      // request (there is no TLS here), and the IPv6 regex behind that cost each CLI run 10 ms.
      // (Bypassing the Agent with a connection of our own lost the daemon's early 413 answer.)
      const options = { socketPath: this.socketPath, servername: '', method: req.method, path } as RequestOptions; // servername: read by the Agent, not in the type
      const outgoing = httpRequest(options, resolve);
      outgoing.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      if (req.body === undefined) outgoing.end();
      else if (Buffer.isBuffer(req.body)) outgoing.end(req.body);
      else {
        req.body.on('error', (err) => outgoing.destroy(err));
        req.body.pipe(outgoing);
      }
    });
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await errorFrom(res);
  }

  async json<T>(req: IpcRequest): Promise<T> {
    const res = await this.open(req);
    return JSON.parse((await collect(res)).toString('utf8')) as T;
  }

  /** Opens a newline-delimited JSON stream and yields each line parsed. */
  async *lines<T>(req: IpcRequest): AsyncGenerator<T> {
    const res = await this.open(req);
    let pending = '';
    for await (const chunk of res) {
      pending += (chunk as Buffer).toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() !== '') yield JSON.parse(line) as T;
      }
    }
    if (pending.trim() !== '') yield JSON.parse(pending) as T;
  }

  /** Talk only to a socket in a directory that no other user controls (see private-dir.ts). */
  private async checkDirectory(): Promise<void> {
    try {
      await assertPrivateDirectory(dirname(this.socketPath));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw this.connectError(err as NodeJS.ErrnoException);
      throw err;
    }
  }

  private connectError(err: NodeJS.ErrnoException): ClipsyncError {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      return fail('CLIPSYNC_ERR_NOT_RUNNING', 'the clipsync daemon is not running', {
        hint: `start it with \`${this.startCommand}\`, or run it as a login service with \`clipsync service install\``,
      });
    }
    if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
      return fail('CLIPSYNC_ERR_IPC', 'the daemon closed the connection before answering; see its log');
    }
    return fail('CLIPSYNC_ERR_IPC', `cannot talk to the daemon at ${this.socketPath}: ${err.message}`);
  }
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function errorFrom(res: IncomingMessage): Promise<ClipsyncError> {
  const text = (await collect(res)).toString('utf8');
  try {
    const body = JSON.parse(text) as ErrorBody;
    const hint = body.error.hint;
    return new ClipsyncError(body.error.code as ErrorCode, body.error.message, hint === undefined ? {} : { hint });
  } catch {
    return fail('CLIPSYNC_ERR_IPC', `the daemon answered ${res.statusCode ?? '?'} without an explanation`);
  }
}
