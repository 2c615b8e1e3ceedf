import { malformed } from '../../wire/frame.js';
import type { ClipMeta } from '../clip.js';
import type { ClipBody, IncomingSink } from '../clip-body.js';
import { sendMessage } from '../messages.js';
import type { PeerChannel } from '../ports.js';
import type { TransferHandle } from '../transfer-board.js';
import type { IncomingState } from './transfer-state.js';

/**
 * One clip arriving from one peer. DATA frames are written to the sink strictly in order
 * (a write may wait for the disk); each stored chunk earns the sender more credit, so what
 * is in flight or queued here never exceeds the window, however slow the disk is.
 */
export class Incoming {
  private current: IncomingState = 'receiving';
  /** The offset the next DATA frame must carry. */
  private expected: number;
  private writes: Promise<void> = Promise.resolve();
  private unacknowledged = 0;
  private failure: unknown;
  /**
   * The clip offset the sender may send up to: what we asked for plus every CREDIT we sent.
   * A sender that ignores its window could otherwise make this side queue without bound.
   */
  private allowedEnd: number;

  constructor(
    readonly meta: ClipMeta,
    readonly sink: IncomingSink,
    private readonly channel: PeerChannel,
    private readonly window: number,
    readonly handle: TransferHandle,
    /** A write failed (disk full, spool removed): the engine refuses the clip at once. */
    private readonly onWriteError: (err: unknown) => void,
  ) {
    this.expected = sink.offset;
    this.allowedEnd = sink.offset + window;
  }

  get state(): IncomingState {
    return this.current;
  }

  /** Asks the sender for the rest of the clip, from what the sink already holds. */
  async request(): Promise<void> {
    await sendMessage(this.channel, { type: 'want', id: this.meta.id, offset: this.sink.offset, window: this.window });
  }

  /** A DATA frame: checked now, stored in turn. */
  data(offset: number, body: Buffer): void {
    if (this.current !== 'receiving') return;
    if (offset !== this.expected) throw malformed(`DATA at offset ${offset}, expected ${this.expected}`);
    if (offset + body.length > this.meta.size) throw malformed('DATA past the announced size');
    if (offset + body.length > this.allowedEnd) throw malformed('DATA beyond the window the receiver granted');
    if (body.length === 0) throw malformed('empty DATA frame');
    this.expected += body.length;
    this.writes = this.writes.then(async () => {
      if (this.current !== 'receiving' || this.failure !== undefined) return;
      try {
        await this.sink.write(body);
      } catch (err) {
        this.failure = err;
        this.onWriteError(err);
        return;
      }
      this.handle.advance(body.length);
      this.unacknowledged += body.length;
      // Grant in batches of a quarter window: fewer CREDIT frames, and the pipe never runs dry.
      if (this.unacknowledged >= this.window / 4 && this.channel.isOpen) {
        const bytes = this.unacknowledged;
        this.unacknowledged = 0;
        this.allowedEnd += bytes;
        await sendMessage(this.channel, { type: 'credit', id: this.meta.id, bytes }).catch(() => undefined);
      }
    });
  }

  /** END: waits for every write, then verifies. Rejects (and keeps nothing) on any problem. */
  async finish(): Promise<ClipBody> {
    await this.writes;
    this.current = 'verifying';
    try {
      if (this.failure !== undefined) throw this.failure;
      return await this.sink.finish();
    } catch (err) {
      await this.sink.discard();
      throw err;
    } finally {
      this.current = 'settled';
    }
  }

  /** The connection dropped: keep what was stored, for a resume. */
  async suspend(): Promise<void> {
    await this.writes;
    if (this.current !== 'receiving') return;
    this.current = 'suspended';
    await this.sink.suspend();
  }

  /** Cancelled or superseded: drop everything. */
  async discard(): Promise<void> {
    if (this.current === 'receiving') this.current = 'discarded';
    await this.writes;
    await this.sink.discard();
  }
}
