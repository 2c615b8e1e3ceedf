import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export type ProxyDirection = 'toServer' | 'toClient';

/**
 * Decides what the proxy forwards for one message: return `[data]` to pass it on, a changed
 * buffer to modify it, `[]` to drop (or hold) it, several buffers to duplicate or to release
 * held ones. `index` counts the messages received in that direction on that session, from 0.
 */
export type ProxyHook = (direction: ProxyDirection, index: number, data: Buffer, session: ProxySession) => Buffer[];

export interface CloseSeen {
  code: number;
  reason: string;
}

/** One client connection through the proxy and its upstream connection to the server. */
export interface ProxySession {
  readonly id: number;
  /** Messages as received from the client (before the hook). */
  readonly fromClient: Buffer[];
  /** Messages as received from the server (before the hook). */
  readonly fromServer: Buffer[];
  /** The close the proxy got from the client, i.e. what the client side sent or echoed. */
  clientClose: CloseSeen | undefined;
  /** The close the proxy got from the server, i.e. what the server side sent or echoed. */
  serverClose: CloseSeen | undefined;
  /** True once both legs are closed. */
  ended: boolean;
}

/** Close codes a WebSocket endpoint may put on the wire (1005/1006 are reported, never sent). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Passes a close from one leg to the other, with the same code and reason where possible. */
function forwardClose(to: WebSocket, seen: CloseSeen): void {
  if (to.readyState === WebSocket.CLOSED) return;
  if (to.readyState === WebSocket.CONNECTING || (seen.code !== 1005 && !sendable(seen.code))) {
    to.terminate();
    return;
  }
  try {
    if (seen.code === 1005) to.close();
    else to.close(seen.code, seen.reason);
  } catch {
    to.terminate();
  }
}

/**
 * A WebSocket man in the middle on 127.0.0.1: each client connection to
 * ws://127.0.0.1:PORT/clipsync gets its own connection to the real server, and every message
 * goes through `hook` on its way, so a test can read, alter, drop, duplicate or reorder the
 * traffic. Close codes are passed through and recorded for both legs.
 */
export class WsProxy extends EventEmitter {
  readonly sessions: ProxySession[] = [];
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly server: WebSocketServer,
    readonly port: number,
    private readonly targetUrl: string,
    public hook: ProxyHook,
  ) {
    super();
    this.setMaxListeners(0);
    server.on('connection', (client) => this.onConnection(client));
  }

  /** `target` is a daemon's address as `status` shows it: `tcp://HOST:PORT`. */
  static async start(target: string, hook: ProxyHook = passThrough): Promise<WsProxy> {
    const match = /^tcp:\/\/(.+):(\d+)$/.exec(target);
    if (match === null) throw new Error(`WsProxy needs a tcp:// target, got ${target}`);
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/clipsync', perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    return new WsProxy(server, port, `ws://${match[1]}:${match[2]}/clipsync`, hook);
  }

  /** The address to give a daemon as `--peer`. */
  get address(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Resolves when `check` returns a value, re-checked on every proxy event. */
  waitUntil<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const onEvent = (): void => {
        let value: T | undefined | false;
        try {
          value = check();
        } catch (err) {
          finish();
          reject(err as Error);
          return;
        }
        if (value !== undefined && value !== false) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}; proxy sessions: ${this.describe()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
      };
      this.on('event', onEvent);
      onEvent();
    });
  }

  /** A one-line summary per session, for failure messages. */
  describe(): string {
    return JSON.stringify(
      this.sessions.map((s) => ({
        id: s.id,
        fromClient: s.fromClient.length,
        fromServer: s.fromServer.length,
        clientClose: s.clientClose,
        serverClose: s.serverClose,
        ended: s.ended,
      })),
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: WebSocket): void {
    const session: ProxySession = {
      id: this.sessions.length,
      fromClient: [],
      fromServer: [],
      clientClose: undefined,
      serverClose: undefined,
      ended: false,
    };
    this.sessions.push(session);
    const upstream = new WebSocket(this.targetUrl, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.binaryType = 'nodebuffer';
    upstream.binaryType = 'nodebuffer';
    const waiting: { data: Buffer; binary: boolean }[] = [];
    let closedLegs = 0;
    const legClosed = (socket: WebSocket): void => {
      this.sockets.delete(socket);
      if (++closedLegs === 2) session.ended = true;
      this.emit('event');
    };

    const relay = (direction: ProxyDirection, data: RawData, isBinary: boolean): void => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      const log = direction === 'toServer' ? session.fromClient : session.fromServer;
      const index = log.length;
      log.push(buffer);
      const out = this.hook(direction, index, buffer, session);
      for (const message of out) {
        if (direction === 'toClient') {
          if (client.readyState === WebSocket.OPEN) client.send(message, { binary: isBinary });
        } else if (upstream.readyState === WebSocket.CONNECTING) {
          waiting.push({ data: message, binary: isBinary });
        } else if (upstream.readyState === WebSocket.OPEN) {
          upstream.send(message, { binary: isBinary });
        }
      }
      this.emit('event');
    };

    client.on('message', (data, isBinary) => relay('toServer', data, isBinary));
    upstream.on('message', (data, isBinary) => relay('toClient', data, isBinary));
    upstream.on('open', () => {
      for (const m of waiting.splice(0)) upstream.send(m.data, { binary: m.binary });
    });
    client.on('close', (code, reason) => {
      session.clientClose = { code, reason: reason.toString('utf8') };
      forwardClose(upstream, session.clientClose);
      legClosed(client);
    });
    upstream.on('close', (code, reason) => {
      session.serverClose = { code, reason: reason.toString('utf8') };
      forwardClose(client, session.serverClose);
      legClosed(upstream);
    });
    // A leg that fails before it opens still emits 'close' (1006); errors need no more than that.
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    this.emit('event');
  }
}

export const passThrough: ProxyHook = (_direction, _index, data) => [data];
