import { WebSocket } from 'ws';
import type { Identity } from '../../src/identity/identity.js';
import { decodeFrame, encodeFrame, type Frame, type FrameTypeValue } from '../../src/wire/frame.js';
import { Handshake, type HandshakeResult } from '../../src/secure/handshake.js';
import { OutputWaiters } from './output-waiters.js';

/**
 * A pairing dialer with no pairing logic: it runs the real handshake in pairing mode (so
 * the daemon sees a genuine, signed pairing HELLO from `identity`), then lets the test send
 * whatever encrypted frames it likes and records what comes back and how the daemon closes.
 */
export class PairingClient {
  readonly frames: Frame[] = [];
  closeSeen: { code: number; reason: string } | undefined;
  peer: HandshakeResult | undefined;
  // Never "ended": a close is itself something callers wait for (see `closed`).
  private readonly waiters = new OutputWaiters(
    () => false,
    (message) => new Error(`pairing client: ${message} (close: ${JSON.stringify(this.closeSeen)}, frames: ${this.frames.length})`),
  );

  private constructor(private readonly socket: WebSocket) {}

  /**
   * Dials `tcp://HOST:PORT` in pairing mode (or, with `pairing: false`, as an ordinary peer);
   * resolves once the socket is open, while the handshake runs on.
   */
  static async connect(address: string, identity: Identity, name: string, options: { pairing?: boolean } = {}): Promise<PairingClient> {
    const match = /^tcp:\/\/(.+):(\d+)$/.exec(address);
    if (match === null) throw new Error(`PairingClient needs a tcp:// address, got ${address}`);
    const socket = new WebSocket(`ws://${match[1]}:${match[2]}/clipsync`, { perMessageDeflate: false });
    socket.binaryType = 'nodebuffer';
    const client = new PairingClient(socket);
    const handshake = new Handshake({ role: 'initiator', identity, name, checkTrust: async (key) => ({ name: key.fingerprint }), pairing: options.pairing ?? true });
    let queue = Promise.resolve();
    socket.on('message', (data: Buffer) => {
      queue = queue.then(async () => {
        if (client.peer === undefined) {
          const step = await handshake.receive(data);
          for (const m of step.send) socket.send(m);
          if (step.result !== undefined) client.peer = step.result;
        } else {
          client.frames.push(decodeFrame(client.peer.opener.open(data)));
        }
        client.waiters.wake();
      }).catch(() => socket.terminate());
    });
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      client.closeSeen = { code, reason: reason.toString('utf8') };
      client.waiters.wake();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => {
        socket.send(handshake.hello());
        resolve();
      });
      socket.once('close', (code) => reject(new Error(`could not connect to ${address} (${code})`)));
    });
    return client;
  }

  /** Resolves once the handshake finished. */
  established(timeoutMs?: number): Promise<HandshakeResult> {
    return this.until(() => this.peer, 'the handshake', timeoutMs);
  }

  /** Resolves with the first frame of `type` received. */
  frame(type: number, timeoutMs?: number): Promise<Frame> {
    return this.until(() => this.frames.find((f) => f.type === type), `frame 0x${type.toString(16)}`, timeoutMs);
  }

  /** Sends one frame (with an optional body) through the encrypted channel. */
  send(type: FrameTypeValue, header: object, body?: Buffer): void {
    if (this.peer === undefined) throw new Error('handshake not finished');
    this.socket.send(this.peer.sealer.seal(encodeFrame(type, header, body)));
  }

  /** Resolves once `check` holds (frames or close so far), or rejects after `timeoutMs`. */
  until<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
    return this.waiters.until(check, what, timeoutMs);
  }

  closed(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closeSeen, 'the close', timeoutMs);
  }

  close(): void {
    this.socket.terminate();
  }
}
