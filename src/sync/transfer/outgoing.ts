import type { Clip } from '../clip.js';
import { ClipReader, bodyOf } from '../clip-body.js';
import { sendMessage } from '../messages.js';
import type { PeerChannel } from '../ports.js';
import type { TransferHandle } from '../transfer-board.js';
import { isOutgoingLive, type OutgoingState } from './transfer-state.js';

/**
 * One clip on its way to one peer. The receiver grants a window of bytes (WANT, then CREDIT
 * as it stores what arrived); the sender never has more than that in flight, and also waits
 * while the channel's own buffer is full. A stalled peer therefore holds up only its own
 * transfer: every peer has its own Outgoing and its own loop.
 */
export class Outgoing {
  private current: OutgoingState = 'offered';
  private credit = 0;
  private wake: (() => void) | undefined;
  /** Which run of `stream` is the live one: a restart leaves the earlier loop stopped. */
  private run = 0;
  /** Progress for `clipsync transfers`, from the WANT on. */
  handle: TransferHandle | undefined;

  constructor(
    readonly clip: Clip,
    private readonly channel: PeerChannel,
  ) {}

  get state(): OutgoingState {
    return this.current;
  }

  /** Not cancelled, failed or settled: the clip is still on its way. */
  get isLive(): boolean {
    return isOutgoingLive(this.current);
  }

  /** Bytes are moving (or about to): what keeps `copy --wait` hoping across a short drop. */
  get isStreaming(): boolean {
    return this.current === 'streaming';
  }

  /** The receiver made room for `bytes` more. */
  grant(bytes: number): void {
    this.credit += bytes;
    this.poke();
  }

  /** Stops it for good: superseded, cancelled by the receiver, or its channel went away. */
  cancel(): void {
    if (this.isLive) this.current = 'cancelled';
    this.poke();
  }

  /** The receiver's ACK came. */
  settle(): void {
    if (this.isLive) this.current = 'settled';
    this.poke();
  }

  /**
   * The receiver asks for the clip again from some offset (a leaf failed its check): the
   * stream under way (or already sent) stops, and `stream` may run again. False when there is
   * no stream to restart (not yet asked for, or over).
   */
  restart(): boolean {
    if (this.current !== 'streaming' && this.current !== 'sent') return false;
    this.run++;
    this.current = 'offered';
    this.poke();
    return true;
  }

  /** Reading or sending failed on this side. */
  fail(): void {
    if (this.isLive) this.current = 'failed';
    this.poke();
  }

  /**
   * Sends DATA from `offset` to the end, then END. Resolves false when it stopped early
   * (cancelled, superseded or disconnected); true once END is on its way. Only the first
   * WANT of an offer starts it: later calls resolve false and change nothing.
   */
  async stream(offset: number, window: number, onChunk: (bytes: number) => void): Promise<boolean> {
    if (this.current !== 'offered') return false;
    this.current = 'streaming';
    const run = ++this.run;
    this.credit = window;
    const { clip } = this;
    const reader = new ClipReader(bodyOf(clip), clip.size);
    // A receiver may grant less than a frame (transferWindowBytes can be as low as 64 KiB):
    // frames then shrink to the window, or the sender would wait for credit that never comes.
    const step = Math.min(this.channel.maxBodyBytes, Math.max(1, window));
    try {
      for (let at = offset; at < clip.size; ) {
        const length = Math.min(step, clip.size - at);
        while (this.credit < length && !this.stopped(run)) await new Promise<void>((resolve) => (this.wake = resolve));
        if (this.stopped(run)) return false;
        const following = at + length;
        const body = await reader.read(at, length, { offset: following, length: Math.min(step, clip.size - following) });
        if (this.stopped(run)) return false;
        this.credit -= length;
        await sendMessage(this.channel, { type: 'data', id: clip.id, offset: at, body });
        at += length;
        onChunk(length);
      }
      if (this.stopped(run)) return false;
      await sendMessage(this.channel, { type: 'end', id: clip.id });
      if (this.current === 'streaming' && run === this.run) this.current = 'sent';
      return true;
    } finally {
      await reader.close();
    }
  }

  private stopped(run: number): boolean {
    return this.current !== 'streaming' || run !== this.run || !this.channel.isOpen;
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
