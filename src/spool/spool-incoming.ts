import { constants } from 'node:fs';
import { open, readFile, rename, utimes, type FileHandle } from 'node:fs/promises';
import { pathCompleted } from '../core/filling-files.js';
import { fail, isClipsyncError } from '../core/errors.js';
import { LEAF_BYTES, LeafMismatch, LeafVerifier, leafRange, blake3Hash, CONTENT_HASH_BYTES } from '../content/content-hash.js';
import { PartAppender } from './part-appender.js';
import { hashMismatchError, leafMismatchError, sizeMismatchError } from '../sync/clip-errors.js';
import { closedError, spoolIoError } from './spool-errors.js';
import { FILE_MODE, removeQuietly, replaceFileDurably, statFile, syncDir } from './spool-files.js';
import { spoolFiles, type SpoolFileNames } from './spool-names.js';

export interface IncomingMeta {
  id: string;
  size: number;
  /** The clip's leaf hashes (content/content-hash.ts), proven by the id: every leaf is checked against them. */
  leaves: Buffer;
}

/** A complete, verified clip in the spool. `file` makes it usable wherever a clip body is a file. */
export interface SpooledClip {
  id: string;
  size: number;
  file: string;
}

/** What an IncomingSpool needs from the Spool that made it. */
export interface IncomingContext {
  dir: string;
  checkpointEveryBytes: number;
  now(): number;
  /** Called exactly once, when the transfer is over: unpins the id and allows a new begin. */
  release(): void;
  /** Runs `task` while no clean-up or rename can change names in the spool. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

/** The sidecar: how far the part file is known to be on disk, and which clip it is. */
interface Sidecar {
  /** 3 since ids are roots of leaf hashes (protocol 3); a part with an older sidecar starts over. */
  version: 3;
  id: string;
  size: number;
  offset: number;
}

/**
 * One clip arriving into the spool as `<id>.part`. Each leaf of the clip is checked against
 * its hash as soon as its last byte arrives, before it is written; the bytes are written in
 * order (with direct I/O where the file system has it, src/spool/part-appender.ts). A
 * checkpoint syncs the part to disk and then records its length in the sidecar (replaced
 * atomically). On a resume — after a disconnect, a crash, even kill -9 in the middle of a
 * write — the part is cut back to the checkpoint, and what it kept is proven again leaf by
 * leaf: a leaf damaged on disk meanwhile is cut off with everything after it and received
 * again. Only `finish()` makes a complete `<id>`, after the size and the last leaf match; any
 * failure deletes the part, so a partial or corrupt clip can never be taken for a whole one.
 *
 * Calls are queued in order; `write` resolves once the chunk is in the file (all but a partial
 * block, with direct I/O), which is the backpressure a receiver needs (grant the sender more
 * only after that).
 */
export class IncomingSpool {
  private state: 'open' | 'finished' | 'closed' = 'open';
  /** True while `<id>.part` is this transfer's to write or delete. */
  private ownsPart: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private released = false;

  private constructor(
    private readonly context: IncomingContext,
    readonly meta: IncomingMeta,
    private readonly files: SpoolFileNames,
    /** undefined when the clip was already complete in the spool: nothing to receive. */
    private handle: FileHandle | undefined,
    private verifier: LeafVerifier | undefined,
    private appender: PartAppender | undefined,
    private synced: number,
  ) {
    this.resumedFrom = synced;
    this.ownsPart = handle !== undefined;
  }

  /** Where this transfer started: 0 for a new one, the last checkpoint for a resumed one. */
  readonly resumedFrom: number;

  get id(): string {
    return this.meta.id;
  }

  /** Bytes stored so far, in order: the offset the next chunk must start at. */
  get offset(): number {
    return this.written;
  }

  private get written(): number {
    return this.appender?.appended ?? this.meta.size;
  }

  /** Bytes in the part file itself: a checkpoint claims no more than these. */
  private get inFile(): number {
    return this.appender?.written ?? this.meta.size;
  }

  /** Bytes known to be on disk and recorded: where a resume after a crash would start. */
  get checkpointed(): number {
    return this.synced;
  }

  /** True when the spool already held this clip whole: send nothing, just finish(). */
  get alreadyComplete(): boolean {
    return this.state === 'open' && this.handle === undefined;
  }

  static async begin(context: IncomingContext, meta: IncomingMeta): Promise<IncomingSpool> {
    const files = spoolFiles(context.dir, meta.id);
    if (!Number.isSafeInteger(meta.size) || meta.size < 0) throw fail('CLIPSYNC_ERR_TRANSFER', `clip size ${meta.size} is not a byte count`);
    let handle: FileHandle | undefined;
    let appender: PartAppender | undefined;
    try {
      // Content-addressed: a complete file with this id already is these bytes, once proven
      // (complete files are not synced to disk, so one torn by a crash is found out here).
      if (await provenComplete(files.complete, meta)) return new IncomingSpool(context, meta, files, undefined, undefined, undefined, meta.size);

      // Only the names are guarded (a clean-up must not unlink the part between sidecar and open);
      // the id is pinned already, so proving a long prefix can happen outside the lock.
      const opened = await context.exclusive(() => openPart(files.part, files.sidecar, meta));
      handle = opened.handle;
      const offset = await provenPrefix(handle, opened.offset, meta);
      if (offset < opened.offset) await handle.truncate(offset);
      const verifier = new LeafVerifier(meta.leaves, meta.size, offset);
      appender = await PartAppender.open(files.part, handle, offset);
      const incoming = new IncomingSpool(context, meta, files, handle, verifier, appender, offset);
      await incoming.saveSidecar(offset);
      return incoming;
    } catch (err) {
      await appender?.close();
      await handle?.close().catch(() => undefined);
      if (isClipsyncError(err)) throw err;
      throw spoolIoError(err, `opening the spool file for clip ${meta.id.slice(0, 16)}…`, context.dir);
    }
  }

  /** Appends `chunk` (do not reuse it until this resolves). Past the announced size, the clip is discarded. */
  write(chunk: Buffer): Promise<void> {
    return this.enqueue(async () => {
      this.assertOpen();
      const failed = this.backgroundFailure;
      if (failed !== undefined) await this.guard('recording the transfer checkpoint', () => Promise.reject(failed));
      if (this.written + chunk.length > this.meta.size) {
        await this.drop();
        throw sizeMismatchError(this.meta.id, this.written + chunk.length, this.meta.size);
      }
      if (chunk.length === 0) return;
      // Checked before it is written: a leaf that does not match never completes in the part,
      // and every leaf before it stays (the transfer rewinds to it and asks again).
      this.verify(() => this.verifier!.update(chunk));
      await this.guard(`writing clip ${this.meta.id.slice(0, 16)}…`, () => this.appender!.append(chunk));
      if (this.inFile - this.synced >= this.context.checkpointEveryBytes) this.checkpointInBackground();
    });
  }

  /**
   * Cuts the part back to what is proven (the leaves before one that failed its check) and
   * resolves with that offset, where writing continues. A checkpoint never claims more.
   */
  rewind(): Promise<number> {
    return this.enqueue(async () => {
      this.assertOpen();
      await this.settleBackground();
      const proven = Math.min(this.verifier!.verified, this.inFile);
      await this.guard(`rewinding clip ${this.meta.id.slice(0, 16)}…`, async () => {
        await this.appender!.close();
        await this.handle!.truncate(proven);
        if (this.synced > proven) {
          this.synced = proven;
          await this.saveSidecar(proven);
        }
        this.appender = await PartAppender.open(this.files.part, this.handle!, proven);
        this.verifier = new LeafVerifier(this.meta.leaves, this.meta.size, proven);
      });
      return proven;
    });
  }

  /** Syncs what was written and records it as the resume point. */
  checkpoint(): Promise<void> {
    return this.enqueue(async () => {
      this.assertOpen();
      await this.guard(`writing clip ${this.meta.id.slice(0, 16)}…`, () => this.appender?.flush() ?? Promise.resolve());
      await this.guard('recording the transfer checkpoint', () => this.checkpointNow());
    });
  }

  /**
   * Verifies size and content hash, then makes the clip complete (`<id>`) with an atomic rename.
   * On a mismatch or an I/O error the part is deleted and the returned promise rejects.
   */
  finish(): Promise<SpooledClip> {
    return this.enqueue(async () => {
      this.assertOpen();
      await this.settleBackground();
      const clip: SpooledClip = { id: this.meta.id, size: this.meta.size, file: this.files.complete };
      if (this.handle === undefined) {
        // Already complete: mark it recently used so clean-up does not take it first.
        const at = this.context.now() / 1000;
        await utimes(this.files.complete, at, at).catch(() => undefined);
        pathCompleted(this.files.complete); // a local copy of it that failed no longer speaks for it
        this.close('finished');
        return clip;
      }
      if (this.written !== this.meta.size) {
        await this.drop();
        throw sizeMismatchError(this.meta.id, this.written, this.meta.size);
      }
      await this.guard(`writing clip ${this.meta.id.slice(0, 16)}…`, () => this.appender!.flush());
      await this.guard('checking the clip', async () => this.verify(() => this.verifier!.finish(), true));
      await this.guard(`storing clip ${this.meta.id.slice(0, 16)}…`, async () => {
        // No sync first: a complete file is always proven again before it is trusted in a
        // later run (provenComplete), and the sync cost a 256 MiB clip 0.2 s the user waited.
        const handle = this.handle!;
        this.handle = undefined;
        await handle.close();
        await rename(this.files.part, this.files.complete);
        this.ownsPart = false;
        await removeQuietly(this.files.sidecar);
        await syncDir(this.context.dir);
      });
      pathCompleted(this.files.complete); // a local copy of it that failed no longer speaks for it
      this.close('finished');
      return clip;
    });
  }

  /**
   * Ends the transfer without a clip. With `keep`, the part stays for a resume (after one more
   * checkpoint, if that still works: the previous one stands otherwise); without, it is deleted.
   */
  abort(keep: boolean): Promise<void> {
    return this.enqueue(async () => {
      if (this.state !== 'open') return;
      if (!keep || this.handle === undefined) {
        await this.drop();
        return;
      }
      // Everything received goes in the file first: a resume then asks for none of it again.
      await this.appender?.flush().catch(() => undefined);
      await this.checkpointNow().catch(() => undefined);
      await this.appender?.close();
      const handle = this.handle;
      this.handle = undefined;
      this.ownsPart = false; // it is the next transfer's to resume now
      await handle.close().catch(() => undefined);
      this.close('closed');
    });
  }

  /** The connection dropped: keep what arrived, for a resume. */
  suspend(): Promise<void> {
    return this.abort(true);
  }

  /** Cancelled, superseded or corrupt: keep nothing. */
  discard(): Promise<void> {
    return this.abort(false);
  }

  /** Runs a leaf check; a leaf that does not match is a hash mismatch that names it. */
  private verify(check: () => void, last = false): void {
    try {
      check();
    } catch (err) {
      if (!(err instanceof LeafMismatch)) throw err;
      throw last ? hashMismatchError(this.meta.id) : leafMismatchError(this.meta.id, err);
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw closedError(this.meta.id);
  }

  /** Runs an I/O step; if it fails, nothing of the clip is kept and the error says what to do. */
  private async guard(doing: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      await this.drop();
      throw isClipsyncError(err) ? err : spoolIoError(err, doing, this.context.dir);
    }
  }

  /**
   * A checkpoint that does not hold up the stream: the fdatasync runs while later chunks are
   * written (it covers at least every byte written before it started), then the sidecar
   * records that offset. Syncing in line cost a transfer most of its speed on a disk that
   * takes tens of milliseconds per sync. Whatever ends the transfer waits for it first.
   */
  private checkpointInBackground(): void {
    const handle = this.handle;
    if (this.background !== undefined || handle === undefined) return;
    const offset = this.inFile;
    this.background = (async () => {
      await handle.datasync();
      if (this.handle !== handle || this.state !== 'open') return;
      await this.saveSidecar(offset);
      this.synced = Math.max(this.synced, offset);
    })()
      .catch((err: unknown) => {
        this.backgroundFailure = err;
      })
      .finally(() => {
        this.background = undefined;
      });
  }

  private background: Promise<void> | undefined;
  private backgroundFailure: unknown;

  private async settleBackground(): Promise<void> {
    await this.background;
  }

  private async checkpointNow(): Promise<void> {
    await this.settleBackground();
    await this.appender?.settle(); // writes under way count: a checkpoint asked for claims all it can
    // A partial block still staged for a direct write is not claimed: a resume fetches it again.
    if (this.handle === undefined || this.inFile === this.synced) return;
    const offset = this.inFile;
    await this.handle.datasync(); // the sidecar must never claim bytes that are not on disk
    await this.saveSidecar(offset);
    this.synced = offset;
  }

  private async saveSidecar(offset: number): Promise<void> {
    const sidecar: Sidecar = { version: 3, id: this.meta.id, size: this.meta.size, offset };
    await replaceFileDurably(this.files.sidecar, `${JSON.stringify(sidecar)}\n`);
  }

  /** Deletes the part and its sidecar (the complete file, if any, is a verified clip and stays). */
  private async drop(): Promise<void> {
    await this.appender?.close();
    await this.settleBackground();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    if (this.ownsPart) await removeQuietly(this.files.part, this.files.sidecar);
    this.ownsPart = false;
    this.close('closed');
  }

  private close(state: 'finished' | 'closed'): void {
    this.state = state;
    if (this.released) return;
    this.released = true;
    this.context.release();
  }
}

/**
 * Opens (or creates) the part file cut back to the checkpoint: bytes past it may be torn
 * (written, never synced), so they are dropped and received again.
 */
async function openPart(part: string, sidecar: string, meta: IncomingMeta): Promise<{ handle: FileHandle; offset: number }> {
  const claimed = await readOffset(sidecar, meta);
  const handle = await open(part, constants.O_RDWR | constants.O_CREAT, FILE_MODE);
  try {
    await handle.chmod(FILE_MODE); // a part left by an older version keeps its mode otherwise
    const offset = Math.min(claimed, (await handle.stat()).size);
    await handle.truncate(offset);
    return { handle, offset };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** The checkpointed offset for this clip, or 0 when there is no usable sidecar. */
async function readOffset(path: string, meta: IncomingMeta): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const s = JSON.parse(text) as Partial<Sidecar>;
    // A sidecar for other bytes (same id, another size: a corrupt announcement) is not a resume point.
    if (s.version !== 3 || s.id !== meta.id || s.size !== meta.size) return 0;
    return Number.isSafeInteger(s.offset) && s.offset! >= 0 && s.offset! <= meta.size ? s.offset! : 0;
  } catch {
    return 0; // unreadable: start over, which is always safe
  }
}

/**
 * How much of the part's first `length` bytes is proven: whole leaves, read back and checked
 * against their hashes, up to the first that does not match (damaged on disk since it was
 * received). Bytes past the last whole leaf cannot be proven alone and are received again,
 * unless they end the clip.
 */
async function provenPrefix(handle: FileHandle, length: number, meta: IncomingMeta): Promise<number> {
  const whole = length === meta.size ? length : Math.floor(length / LEAF_BYTES) * LEAF_BYTES;
  const buffer = Buffer.allocUnsafe(Math.min(LEAF_BYTES, Math.max(whole, 1)));
  for (let index = 0; ; index++) {
    const { start, end } = leafRange(index, meta.size);
    if (end > whole || start >= end) return Math.min(start, whole);
    let done = 0;
    while (done < end - start) {
      const { bytesRead } = await handle.read(buffer, done, end - start - done, start + done);
      if (bytesRead === 0) return start;
      done += bytesRead;
    }
    const at = index * CONTENT_HASH_BYTES;
    if (!blake3Hash(buffer.subarray(0, done)).equals(meta.leaves.subarray(at, at + CONTENT_HASH_BYTES))) return start;
  }
}

/** Whether the complete file `path` holds exactly the clip: its size and every leaf checked. */
export async function provenComplete(path: string, meta: IncomingMeta): Promise<boolean> {
  const info = await statFile(path);
  if (info === undefined || info.size !== meta.size) return false;
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return false;
  try {
    return (await provenPrefix(handle, meta.size, meta)) === meta.size;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
