import { EventEmitter } from 'node:events';
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../core/log.js';
import { CHACHA_BLOCK_BYTES, SEAL_OVERHEAD } from '../secure/channel.js';
import type { Clock } from '../core/clock.js';
import { Heartbeat } from './heartbeat.js';
import { MAX_DATA_BODY_BYTES } from './limits.js';
import { SendBuffers } from './send-buffers.js';
import { Handshake, type HandshakeConfig, type HandshakeResult } from '../secure/handshake.js';
import { CloseCode, ProtocolViolation, describeCloseCode } from '../wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame, encodeFrameHead, malformed, type Frame, type FrameTypeValue } from '../wire/frame.js';

/** Bytes handed to the socket but not yet written out, above which `send` waits. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** A written message at least this big counts as a sign the peer is alive (see sendRaw). */
const PROGRESS_EVIDENCE_BYTES = 64 * 1024;
/**
 * Bodies at least this large are encrypted straight from the caller's buffer into the frame
 * (no copy first); below it, the padding to a ChaCha20 block costs more than the copy saves.
 */
const DIRECT_SEAL_MIN_BODY = 4096;
/** ws close reasons must fit in a 125-byte control frame. */
const MAX_REASON_BYTES = 120;

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

/**
 * One peer connection over any ws socket: runs the handshake under a deadline, then turns
 * messages into frames. Nothing but handshake messages is accepted before the handshake
 * completes, and nothing is emitted to the application before then either.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly remote: string;
  /** The most body bytes one frame may carry (a DATA chunk). */
  readonly maxBodyBytes = MAX_DATA_BODY_BYTES;
  readonly role: HandshakeConfig['role'];
  peer: HandshakeResult | undefined;
  private closed: ConnectionClose | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private pendingBytes = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly handshake: Handshake;
  /** Why a socket that never opened failed (ECONNREFUSED, ENOENT, …). */
  private connectError: string | undefined;
  private opened: boolean;
  private readonly handshakeDone: Promise<HandshakeResult>;

  constructor(
    private readonly socket: WebSocket,
    options: { remote: string; handshake: HandshakeConfig; handshakeTimeoutMs: number; log: Logger; heartbeatIntervalMs?: number; clock?: Clock },
  ) {
    super();
    this.remote = options.remote;
    this.role = options.handshake.role;
    this.handshake = new Handshake(options.handshake);
    const log = options.log;

    this.handshakeDone = new Promise<HandshakeResult>((resolve, reject) => {
      const deadline = setTimeout(() => {
        const reason = `handshake not finished within ${options.handshakeTimeoutMs} ms`;
        log.warn({ remote: this.remote, peer: this.handshake.claimed?.fingerprint, code: CloseCode.handshakeTimeout, reason }, 'closing connection');
        this.close(CloseCode.handshakeTimeout, reason);
      }, options.handshakeTimeoutMs);
      this.once('close', (info) => {
        clearTimeout(deadline);
        reject(new ProtocolViolation(info.code as never, info.reason || describeCloseCode(info.code)));
      });
      this.onEstablished = (result) => {
        clearTimeout(deadline);
        this.startHeartbeat(options.heartbeatIntervalMs, options.clock, log);
        resolve(result);
      };
    });
    this.handshakeDone.catch(() => undefined); // callers observe it through `established()`

    socket.binaryType = 'nodebuffer';
    const fail = (err: unknown): void => {
        if (err instanceof ProtocolViolation) {
          // Name the key even when it never authenticated: the claim from its HELLO.
          const peer = this.peer?.peerKey.fingerprint ?? this.handshake.claimed?.fingerprint;
          log.warn({ remote: this.remote, peer, code: err.closeCode, reason: err.reason }, 'closing connection');
          this.close(err.closeCode, err.reason);
        } else {
          log.error({ err, remote: this.remote }, 'unexpected error handling a frame');
          this.close(CloseCode.protocolError, 'internal error');
        }
    };
    socket.on('message', (data: RawData, isBinary: boolean) => {
      this.heartbeat?.onActivity();
      if (this.peer !== undefined && this.queued === 0) {
        // Authenticated and nothing queued: handle the frame now, without a promise per message.
        try {
          this.onFrameMessage(data, isBinary);
        } catch (err) {
          fail(err);
        }
        return;
      }
      // During the handshake, messages are handled strictly one after another: a step may
      // wait for a signature (ssh-agent), and what arrives meanwhile must wait its turn.
      this.queued++;
      this.queue = this.queue
        .then(() => this.onMessage(data, isBinary))
        .catch(fail)
        .finally(() => {
          this.queued--;
        });
    });
    this.socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('close', (code: number, reason: Buffer) => {
      const text = reason.toString('utf8') || (this.opened ? '' : `cannot connect to ${this.remote}: ${this.connectError ?? 'connection failed'}`);
      this.finishClose({ code, reason: text, local: false });
    });
    socket.on('error', (err: Error & { code?: string }) => {
      if (!this.opened) this.connectError = err.code ?? err.message;
      log.debug({ err, remote: this.remote }, 'socket error');
    });
    this.opened = socket.readyState === socket.OPEN;
    if (this.opened) this.sendRaw(this.handshake.hello());
    else {
      socket.once('open', () => {
        this.opened = true;
        this.sendRaw(this.handshake.hello());
      });
    }
  }

  /** Resolves once the underlying socket has closed (after the closing handshake, or cut). */
  readonly socketClosed: Promise<void>;

  /** False when the socket never opened: a dial failure rather than a refusal. */
  get wasOpened(): boolean {
    return this.opened;
  }

  private onEstablished: (result: HandshakeResult) => void = () => undefined;

  /** Round-trip time of the last answered heartbeat, in ms. */
  get rttMs(): number | undefined {
    return this.heartbeat?.rttMs;
  }

  private heartbeat: Heartbeat | undefined;

  private startHeartbeat(intervalMs: number | undefined, clock: Clock | undefined, log: Logger): void {
    if (intervalMs === undefined || intervalMs <= 0) return;
    const heartbeat = new Heartbeat({
      intervalMs,
      clock,
      ping: () => {
        if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
      },
      onDead: () => {
        log.warn({ remote: this.remote, peer: this.peer?.peerKey.fingerprint, intervalMs }, 'peer missed its heartbeat; closing');
        this.close(CloseCode.heartbeatTimeout, `no answer to a heartbeat within ${intervalMs} ms`);
        this.socket.terminate(); // it is not answering: do not wait for a closing handshake
      },
    });
    this.heartbeat = heartbeat;
    this.socket.on('pong', () => heartbeat.onPong());
    // Signs of life on a link busy with a clip. Our ping and the peer's pong can each wait
    // behind megabytes of clip data, and on a slow link a single DATA message takes longer to
    // arrive than the heartbeat interval (960 KiB at 50 KiB/s is 19 s). But bytes of a
    // message arrive long before it is whole, the peer's own pings travel the other way, and
    // our data draining (sendRaw) shows the peer reading it. A stalled or vanished peer does
    // none of these.
    this.socket.on('ping', () => heartbeat.onActivity());
    const raw = (this.socket as unknown as { _socket?: import('node:net').Socket })._socket; // ws keeps no public handle on it
    raw?.on('data', () => heartbeat.onActivity());
    heartbeat.start();
  }

  /** Checks now that the peer still answers, within `deadlineMs` (see Heartbeat.probe). */
  probeLiveness(deadlineMs: number): void {
    this.heartbeat?.probe(deadlineMs);
  }

  /** The peer's claimed identity from its HELLO (unverified), once it arrived. */
  get claimedPeer(): { fingerprint: string; name: string } | undefined {
    return this.handshake.claimed;
  }

  /** Resolves with the authenticated peer, or rejects with why the connection closed. */
  established(): Promise<HandshakeResult> {
    return this.handshakeDone;
  }

  get isOpen(): boolean {
    return this.closed === undefined;
  }

  /** Sends a frame, waiting first if too much is already queued on the socket. */
  async send(type: FrameTypeValue, header: object, body?: Buffer): Promise<void> {
    if (this.pendingBytes > HIGH_WATER_BYTES) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
    if (this.closed !== undefined || this.peer === undefined) throw new ProtocolViolation(CloseCode.goingAway, 'connection closed');
    let message: Buffer;
    if (body !== undefined && body.length >= DIRECT_SEAL_MIN_BODY) {
      const { out, headLength } = encodeFrameHead(type, header, body.length, CHACHA_BLOCK_BYTES, SEAL_OVERHEAD, this.takeBuffer);
      message = this.peer.sealer.sealFrame(out, headLength, body);
    } else {
      message = this.peer.sealer.sealInPlace(encodeFrame(type, header, body, SEAL_OVERHEAD, this.takeBuffer));
    }
    this.sendRaw(message, () => this.sendBuffers.give(message));
  }

  /** Frame buffers reused once written: at most what may be queued, plus one frame. */
  private readonly sendBuffers = new SendBuffers(HIGH_WATER_BYTES + 1024 * 1024);
  private readonly takeBuffer = (size: number): Buffer => this.sendBuffers.take(size);

  close(code: number, reason: string): void {
    if (this.closed !== undefined) return;
    this.finishClose({ code, reason, local: true });
    if (!this.opened) {
      this.socket.terminate();
      return;
    }
    try {
      this.socket.close(code, truncateReason(reason));
    } catch {
      this.socket.terminate();
    }
    // A peer that never answers the close handshake must not hold the socket open.
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  /** `written` runs once the socket no longer needs the buffer (sent, or the socket failed). */
  private sendRaw(message: Buffer, written?: () => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.pendingBytes += message.length;
    this.socket.send(message, { binary: true }, () => {
      written?.();
      // A large message leaving our queue means the peer is taking our data: the socket
      // buffers only drain as it reads. A peer that stalls stops this within a few MB.
      if (message.length >= PROGRESS_EVIDENCE_BYTES) this.heartbeat?.onActivity();
      this.pendingBytes -= message.length;
      if (this.pendingBytes <= HIGH_WATER_BYTES) this.releaseWaiters();
    });
  }

  private releaseWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    if (this.closed !== undefined) return;
    if (!isBinary || !Buffer.isBuffer(data)) throw malformed('text messages are not part of the protocol');
    if (this.peer === undefined) {
      const step = await this.handshake.receive(data);
      for (const message of step.send) this.sendRaw(message);
      if (step.result !== undefined && this.closed === undefined) {
        this.peer = step.result;
        this.onEstablished(step.result);
      }
      return;
    }
    this.onFrameMessage(data, isBinary);
  }

  private onFrameMessage(data: RawData, isBinary: boolean): void {
    if (this.closed !== undefined || this.peer === undefined) return;
    if (!isBinary || !Buffer.isBuffer(data)) throw malformed('text messages are not part of the protocol');
    // The message buffer is ours alone (ws hands each one out once): decrypt it in place.
    const frame = decodeFrame(this.peer.opener.openInPlace(data));
    if (frame.type === FrameType.hello || frame.type === FrameType.auth) throw malformed('a second handshake on one connection');
    this.emit('frame', frame);
  }

  private finishClose(info: ConnectionClose): void {
    if (this.closed !== undefined) return;
    this.closed = info;
    this.heartbeat?.stop();
    this.handshake.dispose();
    this.peer?.sealer.dispose();
    this.peer?.opener.dispose();
    this.releaseWaiters();
    this.emit('close', info);
  }
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  return bytes.length <= MAX_REASON_BYTES ? reason : bytes.subarray(0, MAX_REASON_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}
