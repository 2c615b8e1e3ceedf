import { EventEmitter } from 'node:events';
import type { WebSocket, RawData } from 'ws';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { CHACHA_BLOCK_BYTES, SEAL_OVERHEAD } from '../secure/channel.js';
import { Handshake, type HandshakeConfig, type HandshakeResult } from '../secure/handshake.js';
import { CloseCode, ProtocolViolation, describeCloseCode } from '../wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame, encodeFrameHead, malformed, type Frame, type FrameTypeValue } from '../wire/frame.js';
import { ConnectionLifecycle, type ConnectionState } from './connection-state.js';
import type { Heartbeat } from './heartbeat.js';
import { MAX_DATA_BODY_BYTES } from './limits.js';
import { socketHeartbeat } from './socket-heartbeat.js';
import { SocketWriter } from './socket-writer.js';

/**
 * Bodies at least this large are encrypted straight from the caller's buffer into the frame
 * (no copy first); below it, the padding to a ChaCha20 block costs more than the copy saves.
 */
const DIRECT_SEAL_MIN_BODY = 4096;
/** ws close reasons must fit in a 125-byte control frame. */
const MAX_REASON_BYTES = 120;
/** A peer that never answers our close frame loses its socket after this long. */
const CLOSE_HANDSHAKE_MS = 2000;

export type { ConnectionState } from './connection-state.js';

export interface ConnectionClose {
  code: number;
  reason: string;
  /** True when this side decided to close. */
  local: boolean;
}

export interface ConnectionEvents {
  frame: [Frame];
  close: [ConnectionClose];
}

export interface ConnectionOptions {
  remote: string;
  handshake: HandshakeConfig;
  handshakeTimeoutMs: number;
  log: Logger;
  heartbeatIntervalMs?: number;
  /** Time for the handshake deadline, the heartbeat and the close handshake; the system clock by default. */
  clock?: Clock;
}

/**
 * One peer connection over any ws socket: runs the handshake under a deadline, then turns
 * messages into frames. Nothing but handshake messages is accepted before the handshake
 * completes, and nothing is emitted to the application before then either.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly remote: string;
  readonly role: HandshakeConfig['role'];
  /** The most body bytes one frame may carry (a DATA chunk). */
  readonly maxBodyBytes = MAX_DATA_BODY_BYTES;
  /** Resolves once the underlying socket has closed (after the closing handshake, or cut). */
  readonly socketClosed: Promise<void>;
  private readonly lifecycle: ConnectionLifecycle;
  private authenticated: HandshakeResult | undefined;
  /** Whether the socket ever opened: a failure before that is a dial failure, not a refusal. */
  private socketOpened: boolean;
  /** Why a socket that never opened failed (ECONNREFUSED, ENOENT, …). */
  private connectError: string | undefined;
  /** Handshake messages are handled one after another; this many are waiting their turn. */
  private queued = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly handshake: Handshake;
  private readonly handshakeDone: Promise<HandshakeResult>;
  private readonly writer: SocketWriter;
  private readonly clock: Clock;
  private readonly log: Logger;
  private heartbeat: Heartbeat | undefined;
  private onEstablished: (result: HandshakeResult) => void = () => undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.remote = options.remote;
    this.role = options.handshake.role;
    this.handshake = new Handshake(options.handshake);
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    this.writer = new SocketWriter(socket, () => this.heartbeat?.onActivity());
    this.socketOpened = socket.readyState === socket.OPEN;
    this.lifecycle = new ConnectionLifecycle(this.socketOpened ? 'authenticating' : 'connecting');
    this.handshakeDone = this.startHandshakeDeadline();
    this.handshakeDone.catch(() => undefined); // callers observe it through `established()`

    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: RawData, isBinary: boolean) => this.onSocketMessage(data, isBinary));
    this.socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('close', (code: number, reason: Buffer) => {
      const text = reason.toString('utf8') || (this.socketOpened ? '' : `cannot connect to ${this.remote}: ${this.connectError ?? 'connection failed'}`);
      this.finishClose({ code, reason: text, local: false });
      this.lifecycle.enter('closed');
    });
    socket.on('error', (err: Error & { code?: string }) => {
      if (!this.socketOpened) this.connectError = err.code ?? err.message;
      this.log.debug({ err, remote: this.remote }, 'socket error');
    });
    if (this.socketOpened) this.writer.write(this.handshake.hello());
    else {
      socket.once('open', () => {
        this.socketOpened = true;
        this.lifecycle.enter('authenticating');
        this.writer.write(this.handshake.hello());
      });
    }
  }

  get state(): ConnectionState {
    return this.lifecycle.state;
  }

  /** The authenticated peer, once the handshake completed. */
  get peer(): HandshakeResult | undefined {
    return this.authenticated;
  }

  /** False when the socket never opened: a dial failure rather than a refusal. */
  get wasOpened(): boolean {
    return this.socketOpened;
  }

  /** Until a close begins (also true while connecting and authenticating). */
  get isOpen(): boolean {
    return this.lifecycle.before('closing');
  }

  /** Round-trip time of the last answered heartbeat, in ms. */
  get rttMs(): number | undefined {
    return this.heartbeat?.rttMs;
  }

  /** The peer's claimed identity from its HELLO (unverified), once it arrived. */
  get claimedPeer(): { fingerprint: string; name: string } | undefined {
    return this.handshake.claimed;
  }

  /** Resolves with the authenticated peer, or rejects with why the connection closed. */
  established(): Promise<HandshakeResult> {
    return this.handshakeDone;
  }

  /** Checks now that the peer still answers, within `deadlineMs` (see Heartbeat.probe). */
  probeLiveness(deadlineMs: number): void {
    this.heartbeat?.probe(deadlineMs);
  }

  /** Sends a frame, waiting first if too much is already queued on the socket. */
  async send(type: FrameTypeValue, header: object, body?: Buffer): Promise<void> {
    if (this.writer.full) await this.writer.room();
    const peer = this.authenticated;
    if (this.state !== 'open' || peer === undefined) throw new ProtocolViolation(CloseCode.goingAway, 'connection closed');
    let message: Buffer;
    if (body !== undefined && body.length >= DIRECT_SEAL_MIN_BODY) {
      const { out, headLength } = encodeFrameHead(type, header, body.length, CHACHA_BLOCK_BYTES, SEAL_OVERHEAD, this.writer.take);
      message = peer.sealer.sealFrame(out, headLength, body);
    } else {
      message = peer.sealer.sealInPlace(encodeFrame(type, header, body, SEAL_OVERHEAD, this.writer.take));
    }
    this.writer.write(message, true);
  }

  /** Begins the close (once; later calls do nothing): `close` is emitted now, the socket follows. */
  close(code: number, reason: string): void {
    if (!this.isOpen) return;
    const opened = this.socketOpened;
    this.finishClose({ code, reason, local: true });
    if (!opened) {
      this.socket.terminate();
      return;
    }
    try {
      this.socket.close(code, truncateReason(reason));
    } catch {
      this.socket.terminate();
    }
    // A peer that never answers the close handshake must not hold the socket open.
    const timer = this.clock.setTimeout(() => this.socket.terminate(), CLOSE_HANDSHAKE_MS);
    void this.socketClosed.then(() => this.clock.clearTimeout(timer));
  }

  private startHandshakeDeadline(): Promise<HandshakeResult> {
    return new Promise<HandshakeResult>((resolve, reject) => {
      const deadline = this.clock.setTimeout(() => {
        const reason = `handshake not finished within ${this.options.handshakeTimeoutMs} ms`;
        this.log.warn({ remote: this.remote, peer: this.handshake.claimed?.fingerprint, code: CloseCode.handshakeTimeout, reason }, 'closing connection');
        this.close(CloseCode.handshakeTimeout, reason);
      }, this.options.handshakeTimeoutMs);
      this.once('close', (info) => {
        this.clock.clearTimeout(deadline);
        reject(new ProtocolViolation(info.code as never, info.reason || describeCloseCode(info.code), !info.local));
      });
      this.onEstablished = (result) => {
        this.clock.clearTimeout(deadline);
        this.startHeartbeat();
        resolve(result);
      };
    });
  }

  private onSocketMessage(data: RawData, isBinary: boolean): void {
    this.heartbeat?.onActivity();
    if (this.state === 'open' && this.queued === 0) {
      // Authenticated and nothing queued: handle the frame now, without a promise per message.
      try {
        this.onFrameMessage(data, isBinary);
      } catch (err) {
        this.fail(err);
      }
      return;
    }
    // During the handshake, messages are handled strictly one after another: a step may
    // wait for a signature (ssh-agent), and what arrives meanwhile must wait its turn.
    this.queued++;
    this.queue = this.queue
      .then(() => this.onMessage(data, isBinary))
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.queued--;
      });
  }

  private async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    if (!this.isOpen) return;
    if (!isBinary || !Buffer.isBuffer(data)) throw malformed('text messages are not part of the protocol');
    if (this.state === 'open') return this.onFrameMessage(data, isBinary);
    const step = await this.handshake.receive(data);
    for (const message of step.send) this.writer.write(message);
    if (step.result !== undefined && this.isOpen) {
      this.authenticated = step.result;
      this.lifecycle.enter('open');
      this.onEstablished(step.result);
    }
  }

  private onFrameMessage(data: RawData, isBinary: boolean): void {
    const peer = this.authenticated;
    if (this.state !== 'open' || peer === undefined) return;
    if (!isBinary || !Buffer.isBuffer(data)) throw malformed('text messages are not part of the protocol');
    // The message buffer is ours alone (ws hands each one out once): decrypt it in place.
    const frame = decodeFrame(peer.opener.openInPlace(data));
    if (frame.type === FrameType.hello || frame.type === FrameType.auth) throw malformed('a second handshake on one connection');
    this.emit('frame', frame);
  }

  private fail(err: unknown): void {
    if (err instanceof ProtocolViolation) {
      // Name the key even when it never authenticated: the claim from its HELLO.
      const peer = this.authenticated?.peerKey.fingerprint ?? this.handshake.claimed?.fingerprint;
      this.log.warn({ remote: this.remote, peer, code: err.closeCode, reason: err.reason }, 'closing connection');
      this.close(err.closeCode, err.reason);
    } else {
      this.log.error({ err, remote: this.remote }, 'unexpected error handling a frame');
      this.close(CloseCode.protocolError, 'internal error');
    }
  }

  private startHeartbeat(): void {
    const intervalMs = this.options.heartbeatIntervalMs;
    if (intervalMs === undefined || intervalMs <= 0) return;
    this.heartbeat = socketHeartbeat(this.socket, {
      intervalMs,
      clock: this.clock,
      onDead: () => {
        this.log.warn({ remote: this.remote, peer: this.authenticated?.peerKey.fingerprint, intervalMs }, 'peer missed its heartbeat; closing');
        this.close(CloseCode.heartbeatTimeout, `no answer to a heartbeat within ${intervalMs} ms`);
        this.socket.terminate(); // it is not answering: do not wait for a closing handshake
      },
    });
    this.heartbeat.start();
  }

  /** Enters closing (from either side, once): stops the heartbeat, wipes keys, wakes senders. */
  private finishClose(info: ConnectionClose): void {
    if (!this.isOpen) return;
    this.lifecycle.enter('closing');
    this.heartbeat?.stop();
    this.handshake.dispose();
    this.authenticated?.sealer.dispose();
    this.authenticated?.opener.dispose();
    this.writer.release();
    this.emit('close', info);
  }
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  return bytes.length <= MAX_REASON_BYTES ? reason : bytes.subarray(0, MAX_REASON_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}
