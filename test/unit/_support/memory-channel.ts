import { EventEmitter } from 'node:events';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { decodeFrame, encodeFrame, type Frame, type FrameTypeValue } from '../../../src/wire/frame.js';
import type { ChannelClose, PeerChannel } from '../../../src/sync/ports.js';

/** What a tap decides for one frame on its way: let it pass (possibly changed), or drop it. */
export type TapVerdict = Frame | 'drop';

/**
 * One end of an in-memory channel pair: frames go through the real wire codec (so header
 * limits and JSON apply as on a socket) and arrive in order on the next turn of the event loop.
 * A tap on each direction can watch, change or drop frames, which is how tests inject faults.
 */
export class MemoryChannel extends EventEmitter<{ frame: [Frame]; close: [ChannelClose] }> implements PeerChannel {
  isOpen = true;
  peer!: MemoryChannel;
  /** Every frame this end sent, after its tap. */
  readonly sent: Frame[] = [];
  /** Sees each frame this end sends, before it leaves. */
  tap: ((frame: Frame) => TapVerdict) | undefined;
  closedWith: ChannelClose | undefined;

  constructor(readonly maxBodyBytes: number) {
    super();
  }

  async send(type: FrameTypeValue, header: object, body?: Buffer): Promise<void> {
    if (!this.isOpen) throw new Error('channel closed');
    let frame: TapVerdict = decodeFrame(encodeFrame(type, header, body));
    frame = { ...frame, body: Buffer.from(frame.body) }; // the receiver owns its copy, as with a socket
    if (this.tap !== undefined) frame = this.tap(frame);
    if (frame === 'drop') return;
    this.sent.push(frame);
    const delivered = frame;
    setImmediate(() => {
      if (this.peer.isOpen) this.peer.emit('frame', delivered);
    });
  }

  close(code: number, reason: string): void {
    this.end({ code, reason });
  }

  /** The connection is cut (both ends see it at once), as a lost network would. */
  cut(code: number = CloseCode.heartbeatTimeout): void {
    this.end({ code, reason: 'cut' });
  }

  private end(info: ChannelClose): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.peer.isOpen = false;
    this.closedWith = info;
    this.peer.closedWith = info;
    this.emit('close', info);
    this.peer.emit('close', info);
  }
}

/** Two joined ends: what `a` sends, `b` receives, and the other way round. */
export function channelPair(maxBodyBytes = 64 * 1024): [MemoryChannel, MemoryChannel] {
  const a = new MemoryChannel(maxBodyBytes);
  const b = new MemoryChannel(maxBodyBytes);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
