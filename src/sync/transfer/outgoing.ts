import type { Connection } from '../../protocol/connection.js';
import { FrameType } from '../../wire/frame.js';
import type { Clip } from '../clip.js';
import { ClipReader } from '../clip-body.js';
import type { TransferHandle } from '../transfer-board.js';


/**
 * One clip on its way to one peer. The receiver grants a window of bytes (WANT, then CREDIT
 * as it stores what arrived); the sender never has more than that in flight, and also waits
 * while the socket's own buffer is full. A stalled peer therefore holds up only its own
 * transfer: every peer has its own Outgoing and its own loop.
 */
export class Outgoing {
  cancelled = false;
  private credit = 0;
  private wake: (() => void) | undefined;
  private streaming = false;
  handle: TransferHandle | undefined;

  constructor(
    readonly clip: Clip,
    private readonly connection: Connection,
    private readonly chunkBytes: number,
  ) {}

  /** The receiver made room for `bytes` more. */
  grant(bytes: number): void {
    this.credit += bytes;
    this.poke();
  }

  cancel(): void {
    this.cancelled = true;
    this.poke();
  }

  get isStreaming(): boolean {
    return this.streaming;
  }

  /**
   * Sends DATA from `offset` to the end, then END. Returns false when it stopped early
   * (cancelled, superseded or disconnected); true once END is on its way.
   */
  async stream(offset: number, window: number, onChunk: (bytes: number) => void): Promise<boolean> {
    if (this.streaming) return false;
    this.streaming = true;
    this.credit = window;
    const { clip, connection } = this;
    const reader = new ClipReader(clip.file !== undefined ? { file: clip.file } : { data: clip.data! }, clip.size);
    // A receiver may grant less than a frame (transferWindowBytes can be as low as 64 KiB):
    // frames then shrink to the window, or the sender would wait for credit that never comes.
    const step = Math.min(this.chunkBytes, Math.max(1, window));
    try {
      for (let at = offset; at < clip.size; ) {
        const length = Math.min(step, clip.size - at);
        while (this.credit < length && !this.stopped()) await new Promise<void>((resolve) => (this.wake = resolve));
        if (this.stopped()) return false;
        const following = at + length;
        const body = await reader.read(at, length, { offset: following, length: Math.min(step, clip.size - following) });
        if (this.stopped()) return false;
        this.credit -= length;
        await connection.send(FrameType.data, { id: clip.id, offset: at }, body);
        at += length;
        onChunk(length);
      }
      if (this.stopped()) return false;
      await connection.send(FrameType.end, { id: clip.id });
      return true;
    } finally {
      this.streaming = false;
      await reader.close();
    }
  }

  private stopped(): boolean {
    return this.cancelled || !this.connection.isOpen;
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
