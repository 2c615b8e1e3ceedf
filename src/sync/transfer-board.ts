import { EventEmitter } from 'node:events';

/** One transfer in flight, as `clipsync transfers --json` and `peers --json` show it. */
export interface TransferInfo {
  /** The clip's content id (BLAKE2b-256, hex): one transfer per clip, peer and direction. */
  id: string;
  direction: 'send' | 'receive';
  /** Fingerprint and name of the peer on the other end. */
  peer: string;
  name: string;
  mime: string;
  /** Bytes of the clip done so far, counting what a resumed transfer already had. */
  bytes: number;
  total: number;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Estimated time to completion at that rate; null until a rate is known. */
  etaMs: number | null;
  /** Where this connection's transfer started: 0, or the offset it resumed from. */
  resumedFrom: number;
  startedAt: string;
  /** A files clip: how many of its files are complete, of how many. */
  files?: { done: number; total: number };
}

/** What a transfer is started with: the fixed part of its info, and for a files clip where each file ends in the clip. */
export type TransferStart = Omit<TransferInfo, 'bytes' | 'rate' | 'etaMs' | 'startedAt' | 'files'> & {
  /** Where each file of a files clip ends in the clip, ascending; asked each time (a receiver learns them with the manifest). */
  fileEnds?: () => readonly number[] | undefined;
};

/** How a transfer ended, in the event stream. */
export type TransferOutcome = 'completed' | 'failed' | 'cancelled' | 'interrupted';

export interface TransferEvents {
  progress: [TransferInfo];
  end: [TransferInfo, TransferOutcome, string | undefined];
}

/** The span of recent samples the rate is computed over. */
const RATE_WINDOW_MS = 3000;
/** Progress events per transfer are at most this frequent; the end is always reported. */
const PROGRESS_EVERY_MS = 100;

/** Bytes per second over a sliding window of recent samples. */
export class RateMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly now: () => number) {}

  sample(totalBytes: number): void {
    const at = this.now();
    this.samples.push({ at, bytes: totalBytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift();
  }

  /** 0 until two samples at least a few milliseconds apart exist. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.at - first.at < 5) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}

/** One live transfer: the engine advances it, the board reports it. */
export class TransferHandle {
  private readonly meter: RateMeter;
  private bytes: number;
  private lastEmit = 0;
  private ended = false;
  readonly startedAt: number;

  constructor(
    private readonly board: TransferBoard,
    readonly key: string,
    private readonly fixed: Omit<TransferInfo, 'bytes' | 'rate' | 'etaMs' | 'startedAt' | 'files'>,
    private readonly now: () => number,
    /** Offsets in the clip where each file of a files clip ends, ascending, once known. */
    private readonly fileEnds?: () => readonly number[] | undefined,
  ) {
    this.bytes = fixed.resumedFrom;
    this.startedAt = now();
    this.meter = new RateMeter(now);
    this.meter.sample(this.bytes);
  }

  get done(): number {
    return this.bytes;
  }

  advance(bytes: number): void {
    if (this.ended) return;
    this.bytes += bytes;
    this.meter.sample(this.bytes);
    const at = this.now();
    if (at - this.lastEmit >= PROGRESS_EVERY_MS || this.bytes >= this.fixed.total) {
      this.lastEmit = at;
      this.board.emit('progress', this.info());
    }
  }

  /** Back to `bytes` done: part of the transfer is being sent again (a leaf that failed its check). */
  rewindTo(bytes: number): void {
    if (this.ended) return;
    this.bytes = Math.min(this.bytes, bytes);
    this.meter.sample(this.bytes);
  }

  end(outcome: TransferOutcome, detail?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.board.remove(this);
    this.board.emit('end', this.info(), outcome, detail);
  }

  private filesDone(): { files?: { done: number; total: number } } {
    const ends = this.fileEnds?.();
    return ends === undefined ? {} : { files: { done: countAtMost(ends, this.bytes), total: ends.length } };
  }

  info(): TransferInfo {
    const rate = Math.round(this.meter.rate());
    const remaining = this.fixed.total - this.bytes;
    return {
      ...this.fixed,
      bytes: this.bytes,
      rate,
      etaMs: rate > 0 ? Math.round((remaining * 1000) / rate) : remaining === 0 ? 0 : null,
      startedAt: new Date(this.startedAt).toISOString(),
      ...this.filesDone(),
    };
  }
}

/** Every transfer in flight, for listings and the control socket's event stream. */
export class TransferBoard extends EventEmitter<TransferEvents> {
  private readonly live = new Map<string, TransferHandle>();

  constructor(private readonly now: () => number = Date.now) {
    super();
    this.setMaxListeners(0); // one per `copy --wait` or `transfers --watch` client
  }

  start(start: TransferStart): TransferHandle {
    const { fileEnds, ...fixed } = start;
    const key = `${fixed.direction}:${fixed.peer}:${fixed.id}`;
    this.live.get(key)?.end('interrupted', 'replaced by a new transfer of the same clip');
    const handle = new TransferHandle(this, key, fixed, this.now, fileEnds);
    this.live.set(key, handle);
    this.emit('progress', handle.info());
    return handle;
  }

  /** Called by a handle when it ends. */
  remove(handle: TransferHandle): void {
    if (this.live.get(handle.key) === handle) this.live.delete(handle.key);
  }

  list(): TransferInfo[] {
    return [...this.live.values()].map((h) => h.info());
  }

  forPeer(fingerprint: string): TransferInfo[] {
    return this.list().filter((t) => t.peer === fingerprint);
  }
}

/** How many of the ascending `ends` are at most `value`. */
function countAtMost(ends: readonly number[], value: number): number {
  let low = 0;
  let high = ends.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ends[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}
