import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';

export interface RawClose {
  code: number;
  reason: string;
}

/**
 * A bare `ws` client speaking to a daemon's listener directly, with no clipsync logic: the
 * test sends exactly the messages it wants and sees every message and the close it gets.
 */
export class RawPeer extends EventEmitter {
  readonly messages: { data: Buffer; isBinary: boolean }[] = [];
  closeSeen: RawClose | undefined;
  /** The client's local port: how the daemon names this connection in its log (`remote`). */
  localPort = 0;
  readonly closed: Promise<RawClose>;

  private constructor(readonly socket: WebSocket) {
    super();
    this.setMaxListeners(0);
    socket.binaryType = 'nodebuffer';
    // Listeners go on before 'open': the daemon sends its HELLO right after the upgrade.
    socket.on('message', (data: Buffer, isBinary) => {
      this.messages.push({ data, isBinary });
      this.emit('event');
    });
    socket.on('upgrade', (response) => {
      this.localPort = response.socket.localPort ?? 0;
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closeSeen = { code, reason: reason.toString('utf8') };
        this.emit('event');
        resolve(this.closeSeen);
      });
    });
  }

  /** Opens ws://HOST:PORT/clipsync for `address` = `tcp://HOST:PORT`. */
  static async connect(address: string): Promise<RawPeer> {
    const match = /^tcp:\/\/(.+):(\d+)$/.exec(address);
    if (match === null) throw new Error(`RawPeer needs a tcp:// address, got ${address}`);
    const socket = new WebSocket(`ws://${match[1]}:${match[2]}/clipsync`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const peer = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('close', (code) => reject(new Error(`raw client could not connect to ${address} (${code})`)));
    });
    return peer;
  }

  /** The remote address the daemon logs for this connection. */
  get remoteAsSeenByDaemon(): string {
    return `tcp://127.0.0.1:${this.localPort}`;
  }

  send(data: Buffer | string): void {
    this.socket.send(data, { binary: typeof data !== 'string' });
  }

  /** Resolves with message number `index` (from 0) once it has arrived. */
  message(index: number, timeoutMs = 30_000): Promise<Buffer> {
    return this.until(() => this.messages[index]?.data, `message #${index}`, timeoutMs, true);
  }

  /** Resolves with the close once the connection is closed; fails after `timeoutMs`. */
  closeWithin(timeoutMs = 30_000): Promise<RawClose> {
    return this.until(() => this.closeSeen, 'the connection to close', timeoutMs, false);
  }

  terminate(): void {
    this.socket.terminate();
  }

  private until<T>(check: () => T | undefined, what: string, timeoutMs: number, failOnClose: boolean): Promise<T> {
    return new Promise((resolve, reject) => {
      const onEvent = (): void => {
        const value = check();
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (failOnClose && this.closeSeen !== undefined) {
          finish();
          reject(new Error(`raw client: closed (${JSON.stringify(this.closeSeen)}) before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`raw client: timed out waiting for ${what} (close: ${JSON.stringify(this.closeSeen)}, messages: ${this.messages.length})`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
      };
      this.on('event', onEvent);
      onEvent();
    });
  }
}
