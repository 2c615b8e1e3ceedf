import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { WS_MAX_PAYLOAD } from '../../../src/transport/ws-options.js';

/**
 * Two real ws WebSockets joined by an in-memory stream pair: ws frames, masks, pings and
 * closes exactly as over TCP, with no socket in between. The client end masks (all zeros, as
 * clipsync's dialer does) and the server end expects masks, as on the wire.
 *
 * `hold()` on an end stops it reading, so what the other end writes queues up and its write
 * callbacks stop coming: real backpressure, as a peer that stopped reading would cause.
 */
export class StreamEnd extends Duplex {
  other!: StreamEnd;
  private held = false;
  private pendingWrite: (() => void) | undefined;

  constructor() {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Completed only once the other end has taken it: a held reader stalls the writer.
    if (this.other.push(chunk) && !this.other.held) callback();
    else this.other.pendingWrite = () => callback();
  }

  override _read(): void {
    if (this.held) return;
    const resume = this.pendingWrite;
    this.pendingWrite = undefined;
    resume?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.other.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.destroy();
    callback(error);
  }

  /** Stops reading: the other end's writes queue up. */
  hold(): void {
    this.held = true;
    this.pause();
  }

  /** Reads again, releasing what queued. */
  release(): void {
    this.held = false;
    this.resume();
    this._read();
  }
}

export interface SocketPair {
  client: WebSocket;
  server: WebSocket;
  clientStream: StreamEnd;
  serverStream: StreamEnd;
}

/** A client and a server WebSocket joined in memory, both already open. */
export function socketPair(): SocketPair {
  const pair = unopenedSocketPair();
  pair.open();
  return pair;
}

/**
 * The same pair still CONNECTING, as a dialed socket is before its upgrade: `open()` joins
 * the ends, and both emit 'open'.
 */
export function unopenedSocketPair(): SocketPair & { open(): void } {
  const clientStream = new StreamEnd();
  const serverStream = new StreamEnd();
  clientStream.other = serverStream;
  serverStream.other = clientStream;
  // ws fills in its defaults only for ends it makes itself (a dial, a WebSocketServer); an end
  // made with a null address takes these as given, so they are ws's own defaults. Without
  // closeTimeout, ws would cut every closing handshake after a millisecond.
  const endOptions = { autoPong: true, maxPendingAutoPongs: 60, closeTimeout: 30_000 };
  const client = new WebSocket(null as unknown as string, undefined, endOptions); // ws: a null address makes an end for setSocket
  (client as unknown as { _isServer: boolean })._isServer = false; // ws has no public way to make a client end on a given stream
  const server = new WebSocket(null as unknown as string, undefined, endOptions);
  const options = {
    maxPayload: WS_MAX_PAYLOAD,
    allowSynchronousEvents: true,
    maxBufferedChunks: 256 * 1024,
    maxFragments: 16 * 1024,
    generateMask: (mask: Buffer) => mask.fill(0),
  };
  const open = (): void => {
    (client as unknown as { setSocket(s: Duplex, head: Buffer, o: object): void }).setSocket(clientStream, Buffer.alloc(0), options);
    (server as unknown as { setSocket(s: Duplex, head: Buffer, o: object): void }).setSocket(serverStream, Buffer.alloc(0), options);
  };
  return { client, server, clientStream, serverStream, open };
}
