import { lstat, open, readdir, readFile, rename, rm, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { LocalFileCopy } from '../sync/ports.js';
import { fail, isClipsyncError } from '../core/errors.js';
import { LeafHasher, LeafMismatch, rootId } from '../content/content-hash.js';
import { planCleanup, type CleanupPlan, type SpoolEntry } from './spool-cleanup.js';
import { busyError, fileChangedError, fileNotKeptError, notSpooledError, spoolIoError } from './spool-errors.js';
import { ensurePrivateDir, FILE_MODE, removeQuietly, replaceFileDurably, statFile, syncDir } from './spool-files.js';
import { IncomingSpool, provenComplete, type IncomingMeta, type SpooledClip } from './spool-incoming.js';
import { PartAppender } from './part-appender.js';
import { hashFileLeaves } from './file-leaves.js';
import { LocalFileFill, copyCheckedLeaves } from './local-file-fill.js';
import { isFilling, pathCompleted, registerFilling, unregisterFilling } from '../core/filling-files.js';
import { assertClipId, classify, spoolFiles, tempFile } from './spool-names.js';

export { IncomingSpool, type IncomingMeta, type SpooledClip } from './spool-incoming.js';
export type { CleanupPlan, Removal, SpoolEntry } from './spool-cleanup.js';

/** Clips larger than this go to the spool instead of memory. */
export const SPOOL_THRESHOLD_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SPOOL_MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_SPOOL_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_SPOOL_CHUNK_BYTES = 256 * 1024;
/**
 * How much an incoming clip writes between checkpoints. Each costs an fsync; a crash costs at
 * most this much received again. A clean disconnect always checkpoints (abort with keep).
 */
export const DEFAULT_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/**
 * What the spool's file names mean: 3 since clips are named by the root of their BLAKE3 leaf
 * hashes (protocol 3). A spool without this mark, or with another, is emptied of clips when it
 * opens.
 */
const SPOOL_FORMAT = '3';
const FORMAT_FILE = 'FORMAT';

async function hasCurrentFormat(dir: string): Promise<boolean> {
  const text = await readFile(join(dir, FORMAT_FILE), 'utf8').catch(() => '');
  return text.trim() === SPOOL_FORMAT;
}

export interface SpoolOptions {
  maxTotalBytes?: number;
  maxAgeMs?: number;
  thresholdBytes?: number;
  checkpointEveryBytes?: number;
  /** The clock for ages (ms since the epoch); injected by tests. */
  now?: () => number;
}

export type ClipSource = Uint8Array | Readable | AsyncIterable<Uint8Array | string>;

/**
 * The on-disk home of large clips, content-addressed: a complete clip is the file named by its
 * content id (content/content-hash.ts, hex), so the same bytes are stored once. Everything is read and written as
 * streams of bounded chunks; nothing here holds a whole clip in memory.
 *
 * One daemon per spool directory (the daemon's pid file guarantees it): temp files found when
 * the spool opens belong to a process that died and are removed.
 */
export class Spool {
  private readonly pins = new Map<string, number>();
  private readonly receiving = new Set<string>();
  /** Serializes what creates or deletes names, so clean-up never races a rename. */
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly maxTotalBytes: number,
    readonly maxAgeMs: number,
    readonly thresholdBytes: number,
    private readonly checkpointEveryBytes: number,
    private readonly now: () => number,
  ) {}

  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    try {
      await ensurePrivateDir(dir);
      const outdated = !(await hasCurrentFormat(dir));
      for (const name of await readdir(dir)) {
        const kind = classify(name)?.kind;
        // Clips stored under another kind of id (protocol 2 named them by BLAKE2b) are no
        // clip this daemon can offer or resume: they go, with the temp files of a dead process.
        if (kind === 'temp' || (outdated && kind !== undefined)) await rm(join(dir, name), { force: true });
      }
      if (outdated) await replaceFileDurably(join(dir, FORMAT_FILE), `${SPOOL_FORMAT}\n`);
    } catch (err) {
      throw isClipsyncError(err) ? err : spoolIoError(err, 'opening the spool', dir);
    }
    return new Spool(
      dir,
      options.maxTotalBytes ?? DEFAULT_SPOOL_MAX_TOTAL_BYTES,
      options.maxAgeMs ?? DEFAULT_SPOOL_MAX_AGE_MS,
      options.thresholdBytes ?? SPOOL_THRESHOLD_BYTES,
      options.checkpointEveryBytes ?? DEFAULT_CHECKPOINT_BYTES,
      options.now ?? Date.now,
    );
  }

  /** Whether a clip of `size` bytes belongs in the spool rather than in memory. */
  shouldSpool(size: number): boolean {
    return size > this.thresholdBytes;
  }

  /** The complete clip `id`, if the spool holds it. */
  async get(id: string): Promise<SpooledClip | undefined> {
    const { complete } = spoolFiles(this.dir, id);
    const info = await statFile(complete);
    return info === undefined ? undefined : { id, size: info.size, file: complete };
  }

  /**
   * Starts (or resumes) receiving a clip. The returned spool's `offset` is where the sender
   * should start. The id stays pinned until the transfer finishes or aborts; a second transfer
   * of the same id meanwhile is refused.
   */
  async beginIncoming(meta: IncomingMeta): Promise<IncomingSpool> {
    assertClipId(meta.id);
    if (this.receiving.has(meta.id)) throw busyError(meta.id);
    this.receiving.add(meta.id);
    const unpin = this.pin(meta.id);
    const release = () => {
      this.receiving.delete(meta.id);
      unpin();
    };
    try {
      const exclusive = <T>(task: () => Promise<T>) => this.exclusive(task);
      return await IncomingSpool.begin({ dir: this.dir, checkpointEveryBytes: this.checkpointEveryBytes, now: this.now, release, exclusive }, meta);
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Stores a local clip (a copy over the threshold), hashing it as it is written to a temp
   * file that is then renamed to its id. A Readable is consumed with its own backpressure.
   * Over `maxBytes`, the copy is refused and nothing is kept. Pin the result at once if it
   * must survive the next clean-up.
   */
  async storeLocal(source: ClipSource, options: { maxBytes?: number; trailer?: (size: number) => Buffer } = {}): Promise<SpooledClip & { leaves: Buffer }> {
    const temp = tempFile(this.dir, 'local');
    let handle: FileHandle | undefined;
    const hasher = new LeafHasher();
    let size = 0;
    const io = async <T>(doing: string, step: () => Promise<T>): Promise<T> => {
      try {
        return await step();
      } catch (err) {
        throw spoolIoError(err, doing, this.dir);
      }
    };
    let appender: PartAppender | undefined;
    try {
      handle = await io('creating a spool file', () => open(temp, 'wx+', FILE_MODE));
      // Direct I/O where the file system has it, as for received clips (part-appender.ts):
      // through the page cache, writing a 256 MiB copy cost 0.5 s of fresh pages here.
      appender = await io('creating a spool file', () => PartAppender.open(temp, handle!, 0));
      for await (const chunk of chunksOf(source)) {
        size += chunk.length;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the clip is over the limit of ${options.maxBytes} bytes`, {
            hint: 'copy something smaller, or raise the maximum clip size in the config',
          });
        }
        // The thread pool writes the chunk while this thread hashes it.
        const writing = io('writing a copied clip to the spool', () => appender!.append(chunk));
        hasher.update(chunk);
        await writing;
      }
      await io('writing a copied clip to the spool', () => appender!.flush());
      appender = undefined;
      const written = handle;
      handle = undefined;
      // Not synced: a complete file is proven leaf by leaf before a later run trusts it
      // (spool-incoming.ts), and the sync cost a 256 MiB copy 0.2 s the user waited for.
      await io('storing a copied clip', () => written.close());
      // The content id covers the clip's formats after its bytes; they may be known only now
      // (a copy's type is guessed from its bytes).
      const leaves = hasher.finish();
      return await this.commitLocal(temp, leaves, size, options.trailer);
    } catch (err) {
      await appender?.close();
      await handle?.close().catch(() => undefined);
      await removeQuietly(temp);
      throw err;
    }
  }

  /**
   * Stores a copy of the file at `path` (`clipsync copy FILE` of a large file) in two steps,
   * so the clip can be offered, and even delivered, before its copy is made. First the file is
   * read once to hash it (each piece also goes to `inspect`); this resolves then, with the
   * content id and the name the copy will have, and the file held open. The copy is made,
   * every leaf checked against those hashes, when `copy.start()` asks or someone here needs
   * the bytes (core/filling-files.ts), whichever comes first; it fails with FILE_CHANGED when
   * the file was changed in place meanwhile, and `onCopyFailed` hears of any failure. Until
   * then the clip reads from the held file. `copy.cancel()` lets it go unmade.
   * A 256 MiB copy --wait spent 0.15–0.5 s copying before its OFFER could go out, and the
   * copy beside the transfer slowed it by 0.2 s; now the OFFER waits only for the hashing.
   */
  async storeLocalFile(
    path: string,
    options: { maxBytes?: number; trailer?: (size: number) => Buffer; inspect?: (piece: Buffer) => void; onCopyFailed?: (err: unknown) => void } = {},
  ): Promise<SpooledClip & { leaves: Buffer; copy: LocalFileCopy }> {
    const source = await open(path, 'r');
    try {
      const { leaves, size } = await hashFileLeaves(source, options.inspect);
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the clip is over the limit of ${options.maxBytes} bytes`, {
          hint: 'copy something smaller, or raise the maximum clip size in the config',
        });
      }
      const id = rootId(leaves, options.trailer?.(size) ?? Buffer.alloc(0));
      const { complete } = spoolFiles(this.dir, id);
      if (await this.keepProven(complete, { id, size, leaves })) {
        await source.close();
        return { id, size, file: complete, leaves, copy: { start: () => Promise.resolve(), cancel: () => Promise.resolve() } };
      }
      // Its own fill even when the same bytes are filling already: each copy holds its own
      // file, so one cancelled, or its file changed, leaves the other standing.
      const make = (): Promise<void> => this.fillLocalCopy(path, source, complete, leaves, size);
      const fill: LocalFileFill = new LocalFileFill(source, complete, make, (failure) => {
        if (failure === undefined) {
          pathCompleted(complete);
        } else if (isFilling(complete, fill)) {
          options.onCopyFailed?.(failure); // stays registered: readers of the clip hear why
        } // else the clip is complete by other means: only this copy failed, and nobody needs it
      });
      registerFilling(complete, fill);
      const copy: LocalFileCopy = {
        start: () => fill.start(),
        cancel: async () => {
          // Never a clip's body: nobody is to hear of it.
          if (await fill.cancel(fileNotKeptError(path))) unregisterFilling(complete, fill);
        },
      };
      return { id, size, file: complete, leaves, copy };
    } catch (err) {
      await source.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Whether `complete` already holds the clip (the same bytes copied or received before), and
   * is kept: proven leaf by leaf, not trusted (complete files are not synced, and a crash may
   * have torn one), then marked recently used so clean-up takes it last. Pinned meanwhile, so
   * clean-up cannot take it between the proof and the mark.
   */
  private async keepProven(complete: string, meta: IncomingMeta): Promise<boolean> {
    const unpin = this.pin(meta.id);
    try {
      if (!(await provenComplete(complete, meta))) return false;
      const at = this.now() / 1000;
      // Gone meanwhile after all (removed by hand): copy it again.
      if (!(await utimes(complete, at, at).then(() => true, () => false))) return false;
      pathCompleted(complete);
      return true;
    } finally {
      unpin();
    }
  }

  /** Copies the held file into the spool as `complete`, every leaf checked. */
  private async fillLocalCopy(path: string, source: FileHandle, complete: string, leaves: Buffer, size: number): Promise<void> {
    const temp = tempFile(this.dir, 'local');
    let dest: FileHandle | undefined;
    try {
      dest = await open(temp, 'wx+', FILE_MODE);
      await copyCheckedLeaves(source, dest, temp, leaves, size);
      await dest.close();
      // Not synced: a complete file is proven leaf by leaf before a later run trusts it.
      await this.exclusive(() => rename(temp, complete));
    } catch (err) {
      await dest?.close().catch(() => undefined);
      if (dest !== undefined) await removeQuietly(temp);
      if (err instanceof LeafMismatch) throw fileChangedError(path);
      throw spoolIoError(err, 'copying a file into the spool', this.dir);
    }
    // In place: a directory sync that fails now changes nothing for this run.
    await syncDir(this.dir).catch(() => undefined);
  }

  /** Names a stored local copy by its content id (the formats known only now go into it). */
  private async commitLocal(temp: string, leaves: Buffer, size: number, trailer: ((size: number) => Buffer) | undefined): Promise<SpooledClip & { leaves: Buffer }> {
    const id = rootId(leaves, trailer?.(size) ?? Buffer.alloc(0));
    const { complete } = spoolFiles(this.dir, id);
    // Same id, same bytes: renaming over an existing copy changes nothing but its age.
    await this.exclusive(async () => {
      try {
        await rename(temp, complete);
        await syncDir(this.dir);
      } catch (err) {
        throw spoolIoError(err, 'storing a copied clip', this.dir);
      }
    });
    pathCompleted(complete);
    return { id, size, file: complete, leaves };
  }

  /**
   * Reads the complete clip `id` from `offset`, in chunks of at most `chunkBytes`. The id is
   * pinned until the stream closes. Destroy the stream if you stop early.
   */
  async createReadStream(id: string, offset = 0, chunkBytes = DEFAULT_SPOOL_CHUNK_BYTES): Promise<Readable> {
    const { complete } = spoolFiles(this.dir, id);
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
    return this.exclusive(async () => {
      let handle: FileHandle;
      try {
        handle = await open(complete, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notSpooledError(id, this.dir);
        throw spoolIoError(err, 'opening a spooled clip', this.dir);
      }
      const { size } = await handle.stat();
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
        await handle.close();
        throw fail('CLIPSYNC_ERR_TRANSFER', `offset ${offset} is outside clip ${id.slice(0, 16)}… of ${size} bytes`);
      }
      const unpin = this.pin(id);
      const stream = handle.createReadStream({ start: offset, highWaterMark: chunkBytes });
      stream.once('close', unpin);
      return stream;
    });
  }

  /** Keeps `id` (complete and partial) from clean-up until the returned function is called. */
  pin(id: string): () => void {
    assertClipId(id);
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.pins.get(id) ?? 1) - 1;
      if (left > 0) this.pins.set(id, left);
      else this.pins.delete(id);
    };
  }

  isPinned(id: string): boolean {
    return this.pins.has(id);
  }

  /** Removes clip `id` (complete and partial) unless it is pinned; false when pinned. */
  async remove(id: string): Promise<boolean> {
    const files = spoolFiles(this.dir, id);
    return this.exclusive(async () => {
      if (this.isPinned(id)) return false;
      await removeQuietly(files.complete, files.part, files.sidecar);
      return true;
    });
  }

  /** Everything the spool holds, complete and partial, with sizes and ages. */
  async entries(): Promise<SpoolEntry[]> {
    const byKey = new Map<string, SpoolEntry>();
    for (const name of await readdir(this.dir)) {
      const kind = classify(name);
      if (kind === undefined || kind.kind === 'temp') continue;
      const path = join(this.dir, name);
      const info = await lstat(path).catch(() => undefined);
      if (info === undefined || !info.isFile()) continue;
      const entryKind = kind.kind === 'complete' ? 'complete' : 'partial';
      const key = `${entryKind}:${kind.id}`;
      const entry = byKey.get(key) ?? { id: kind.id, kind: entryKind, files: [], bytes: 0, mtimeMs: 0 };
      entry.files.push(path);
      entry.bytes += info.size;
      entry.mtimeMs = Math.max(entry.mtimeMs, info.mtimeMs);
      byKey.set(key, entry);
    }
    return [...byKey.values()];
  }

  /** Removes what is older than maxAgeMs, then the oldest until the spool fits maxTotalBytes. */
  async cleanup(): Promise<CleanupPlan> {
    return this.exclusive(async () => {
      const plan = planCleanup(await this.entries(), {
        now: this.now(),
        maxAgeMs: this.maxAgeMs,
        maxTotalBytes: this.maxTotalBytes,
        isPinned: (id) => this.isPinned(id),
      });
      const removed = [];
      for (const entry of plan.remove) {
        if (this.isPinned(entry.id)) continue; // pinned since the listing
        for (const file of entry.files) await unlink(file).catch(() => undefined);
        removed.push(entry);
      }
      return { remove: removed, keptBytes: plan.keptBytes };
    });
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** Buffers in bounded pieces from any source, without copying. */
async function* chunksOf(source: ClipSource): AsyncGenerator<Buffer> {
  if (source instanceof Uint8Array) {
    const whole = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let at = 0; at < whole.length; at += DEFAULT_SPOOL_CHUNK_BYTES) yield whole.subarray(at, at + DEFAULT_SPOOL_CHUNK_BYTES);
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === 'string') yield Buffer.from(chunk);
    else if (chunk.length > 0) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}
