import { malformed } from '../../wire/frame.js';
import type { ClipMeta } from '../clip.js';
import type { ClipBody, IncomingSink } from '../clip-body.js';
import { mismatchedLeaf } from '../clip-errors.js';
import { sendMessage } from '../messages.js';
import type { PeerChannel } from '../ports.js';
import type { TransferHandle } from '../transfer-board.js';
import type { IncomingState } from './transfer-state.js';

/** How many times one transfer asks again for a leaf that failed its check before it gives up on the clip. */
export const MAX_REFETCHES = 3;

/**
 * One clip arriving from one peer. DATA frames are written to the sink strictly in order
 * (a write may wait for the disk); each stored chunk earns the sender more credit, so what
 * is in flight or queued here never exceeds the window, however slow the disk is.
 *
 * A leaf that fails its check is asked for again (up to MAX_REFETCHES times): the sink
 * rewinds to the leaves it proved, and a WANT with `restart` asks the sender to stream from
 * there. DATA of the old stream still in flight is dropped until the restarted one arrives.
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
  private refetches = 0;
  /** Bumped by a refetch: writes queued before it are for bytes the sink no longer wants. */
  private generation = 0;
  /** Between a failed leaf and the WANT that asks again: every DATA frame is stale. */
  private rewinding = false;
  /** After that WANT: DATA frames are stale until one starts at `expected` (the restarted stream). */
  private resyncing = false;

  constructor(
    readonly meta: ClipMeta,
    readonly sink: IncomingSink,
    private readonly channel: PeerChannel,
    private readonly window: number,
    readonly handle: TransferHandle,
    /** A write failed (disk full, spool removed): the engine refuses the clip at once. */
    private readonly onWriteError: (err: unknown) => void,
    /** A leaf failed its check and is being asked for again, from `offset`. */
    private readonly onRefetch: (offset: number, reason: string) => void = () => undefined,
    /**
     * Only the clip's first `end` bytes are wanted (a files clip's manifest, fetched ahead of
     * its files): no CREDIT beyond the window, and `reached` hears (once, after the write) when
     * the sink holds them.
     */
    private readonly prefix?: { end: number; reached: () => void },
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

  /** True while END may be the tail of a stream this side asked to restart: it is not this transfer's end. */
  get awaitingRestart(): boolean {
    return this.rewinding || this.resyncing;
  }

  /** A DATA frame: checked now, stored in turn. */
  data(offset: number, body: Buffer): void {
    if (this.current !== 'receiving' || this.rewinding) return;
    if (this.resyncing) {
      if (offset !== this.expected) return; // the old stream's tail
      this.resyncing = false;
    }
    if (offset !== this.expected) throw malformed(`DATA at offset ${offset}, expected ${this.expected}`);
    if (offset + body.length > this.meta.size) throw malformed('DATA past the announced size');
    if (offset + body.length > this.allowedEnd) throw malformed('DATA beyond the window the receiver granted');
    if (body.length === 0) throw malformed('empty DATA frame');
    this.expected += body.length;
    const generation = this.generation;
    this.writes = this.writes.then(async () => {
      if (this.current !== 'receiving' || this.failure !== undefined || generation !== this.generation) return;
      try {
        await this.sink.write(body);
      } catch (err) {
        if (mismatchedLeaf(err) !== undefined && this.refetches < MAX_REFETCHES) {
          await this.refetch(err as Error);
          return;
        }
        this.failure = err;
        this.onWriteError(err);
        return;
      }
      this.handle.advance(body.length);
      if (this.prefix !== undefined) {
        if (this.sink.offset >= this.prefix.end) {
          const { reached } = this.prefix;
          queueMicrotask(reached); // not inside this write: what it does waits for the writes
        }
        return;
      }
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

  /** Rewinds to the proven leaves and asks the sender to stream again from there. */
  private async refetch(err: Error): Promise<void> {
    this.refetches++;
    this.generation++;
    this.rewinding = true;
    let offset: number;
    try {
      offset = await this.sink.rewind();
    } catch (rewindError) {
      this.rewinding = false;
      this.failure = rewindError;
      this.onWriteError(rewindError);
      return;
    }
    this.handle.rewindTo(offset);
    this.expected = offset;
    this.allowedEnd = offset + this.window;
    this.unacknowledged = 0;
    this.rewinding = false;
    this.resyncing = true;
    this.onRefetch(offset, err.message);
    await sendMessage(this.channel, { type: 'want', id: this.meta.id, offset, window: this.window, restart: true }).catch(() => undefined);
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
