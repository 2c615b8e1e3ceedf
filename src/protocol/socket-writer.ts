import type { WebSocket } from 'ws';
import { SendBuffers } from './send-buffers.js';

/** Bytes handed to the socket but not yet written out, above which senders wait. */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/**
 * The write side of one connection: messages go to the socket at once, and what the socket
 * has not written out yet is counted, so that a sender above the high-water mark waits for
 * room instead of queueing a clip in memory (backpressure by waiting, never by buffers).
 * Frame buffers come back to a pool once written.
 */
export class SocketWriter {
  private pendingBytes = 0;
  private waiters: (() => void)[] = [];
  /** Frame buffers reused once written: at most what may be queued, plus one frame. */
  private readonly buffers = new SendBuffers(HIGH_WATER_BYTES + 1024 * 1024);
  /** For encoders: a buffer to lay a frame out in, returned to the pool once written. */
  readonly take = (size: number): Buffer => this.buffers.take(size);

  constructor(
    private readonly socket: WebSocket,
    /** A message of at least 64 KiB left the queue: the peer is reading (a sign of life). */
    private readonly onDrained: () => void,
  ) {}

  /** True when a sender should wait for `room()` before writing more. */
  get full(): boolean {
    return this.pendingBytes > HIGH_WATER_BYTES;
  }

  /** Resolves when the queue is back under the mark, or the connection is closing. */
  room(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Writes a message; `pooled` gives its buffer back to the pool once the socket is done with it. */
  write(message: Buffer, pooled = false): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.pendingBytes += message.length;
    this.socket.send(message, { binary: true }, () => {
      if (pooled) this.buffers.give(message);
      // A large message leaving our queue means the peer is taking our data: the socket
      // buffers only drain as it reads. A peer that stalls stops this within a few MB.
      if (message.length >= PROGRESS_EVIDENCE_BYTES) this.onDrained();
      this.pendingBytes -= message.length;
      if (this.pendingBytes <= HIGH_WATER_BYTES) this.release();
    });
  }

  /** Wakes every waiting sender (room again, or the connection closed under them). */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A written message at least this big counts as a sign the peer is alive. */
const PROGRESS_EVIDENCE_BYTES = 64 * 1024;
