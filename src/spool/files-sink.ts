import fs, { unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fail, isClipsyncError } from '../core/errors.js';
import { settleAll } from '../core/settle-all.js';
import { LEAF_BYTES, LeafHasher, LeafVerifier, CONTENT_HASH_BYTES } from '../content/content-hash.js';
import type { ClipMeta } from '../sync/clip.js';
import type { ClipBody, IncomingSink } from '../sync/clip-body.js';
import { sizeMismatchError, verifyChunk, verifyEnd } from '../sync/clip-errors.js';
import { MAX_MANIFEST_BYTES, fileSpans, parseManifest, rootsOf, type FileManifest, type ManifestLimits } from '../files/manifest.js';
import { SMALL_FILE_BYTES, type FileTree } from '../files/file-tree.js';
import { receivedPaths } from './received-files.js';
import { spoolIoError } from './spool-errors.js';
import { PartAppender } from './part-appender.js';

type Span = ReturnType<typeof fileSpans>[number];

/**
 * Receives a files clip straight into its own directory: the manifest (the clip's first bytes)
 * is checked whole before anything is created (files/manifest.ts), then each file's bytes go
 * to that file as they arrive, so a large file is written once, in place, never as a spool
 * file to be copied out afterwards. Every leaf is checked as it completes, as for any clip.
 *
 * Until the clip is complete it lives in `<id>.part/`, renamed to `<id>/` only once every
 * byte matched: a partly received clip is never offered. What was received survives a
 * disconnect, a restart or a kill -9: on the next try the files already there are read back
 * and proven leaf by leaf (in file order, so a resume continues inside the file it stopped in),
 * and whatever fails to prove is cut off and received again.
 */
export class FilesSink implements IncomingSink {
  private verifier: LeafVerifier;
  private received: number;
  private manifestBytes: Buffer[] = [];
  private parsed: { manifest: FileManifest; spans: Span[] } | undefined;
  /** The file being written, and which span it is. */
  private writing: { span: number; handle: FileHandle; appender: PartAppender } | undefined;
  /** The first span not yet complete on disk. */
  private nextSpan = 0;

  private constructor(
    private readonly meta: ClipMeta,
    private readonly paths: ReturnType<typeof receivedPaths>,
    private readonly limits: ManifestLimits,
    private readonly manifestSize: number,
    resumed: { offset: number; manifest?: Buffer },
  ) {
    this.received = resumed.offset;
    // A resume sets both again once it has proven what it kept (`cutTo`).
    this.verifier = new LeafVerifier(meta.leaves!, meta.size, 0);
    if (resumed.manifest !== undefined) {
      this.manifestBytes = [resumed.manifest];
      this.parsed = this.parse(resumed.manifest);
      this.nextSpan = this.spanAt(resumed.offset - manifestSize);
    }
  }

  /** Opens the sink, resuming from what an earlier try left and proving it first. */
  static async open(meta: ClipMeta, filesDir: string, limits: ManifestLimits): Promise<FilesSink> {
    const paths = receivedPaths(filesDir, meta.id);
    const manifestSize = meta.formats[0]!.size;
    if (manifestSize > MAX_MANIFEST_BYTES) {
      throw fail('CLIPSYNC_ERR_BAD_MANIFEST', `refused a files clip: its manifest of ${manifestSize} bytes is over the ${MAX_MANIFEST_BYTES} this machine reads`, {
        hint: 'copy fewer files at once',
      });
    }
    const io = <T>(doing: string, step: () => Promise<T>): Promise<T> => step().catch((err: unknown) => Promise.reject(isClipsyncError(err) ? err : spoolIoError(err, doing, filesDir, 'received files')));
    await io('creating the received-files directory', () => mkdir(filesDir, { recursive: true, mode: 0o700 }));
    const kept = await readFile(paths.manifest).catch(() => undefined);
    const partThere = (await stat(paths.part).catch(() => undefined))?.isDirectory() === true;
    if (kept !== undefined && kept.length === manifestSize && partThere) {
      // A kept manifest that no longer parses (a newer limit, a damaged disk) starts over.
      const sink = tryOrUndefined(() => new FilesSink(meta, paths, limits, manifestSize, { offset: manifestSize, manifest: kept }));
      const proven = sink === undefined ? 0 : await sink.prove().catch(() => 0);
      if (sink !== undefined && proven >= manifestSize) {
        await io('resuming a received files clip', () => sink.cutTo(proven));
        return sink;
      }
    }
    // Nothing usable: start afresh (a finished copy of the same clip is replaced, it is not current).
    await io('clearing an earlier try', () => Promise.all([rm(paths.part, { recursive: true, force: true }), rm(paths.complete, { recursive: true, force: true }), rm(paths.manifest, { force: true })]));
    await io('creating the clip directory', () => mkdir(paths.part, { mode: 0o700 }));
    return new FilesSink(meta, paths, limits, manifestSize, { offset: 0 });
  }

  get offset(): number {
    return this.received;
  }

  /** The manifest, once its bytes are in and checked. */
  get manifest(): FileManifest | undefined {
    return this.parsed?.manifest;
  }

  /** Where the top-level entries will be once the clip is complete. */
  get roots(): string[] | undefined {
    return this.parsed === undefined ? undefined : rootsOf(this.parsed.manifest).map((e) => join(this.paths.complete, e.path));
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.received + chunk.length > this.meta.size) throw sizeMismatchError(this.meta.id, this.received + chunk.length, this.meta.size);
    verifyChunk(this.verifier, this.meta.id, chunk);
    let at = 0;
    if (this.received < this.manifestSize) {
      const take = Math.min(chunk.length, this.manifestSize - this.received);
      this.manifestBytes.push(Buffer.from(chunk.subarray(0, take)));
      at = take;
      this.received += take;
      if (this.received === this.manifestSize) await this.manifestComplete();
    }
    if (at < chunk.length) await this.io('writing a received file', () => this.store(chunk.subarray(at)));
    this.received += chunk.length - at;
  }

  async rewind(): Promise<number> {
    const proven = this.verifier.verified;
    await this.io('cutting back a received files clip', () => this.cutTo(proven));
    return proven;
  }

  async finish(): Promise<ClipBody> {
    if (this.received !== this.meta.size) throw sizeMismatchError(this.meta.id, this.received, this.meta.size);
    verifyEnd(this.verifier, this.meta.id);
    if (this.parsed === undefined) await this.manifestComplete(); // an empty clip cannot be, but stay safe
    await this.io('finishing a received files clip', async () => {
      await this.store(Buffer.alloc(0)); // trailing empty files
      await this.closeWriting();
      await rename(this.paths.part, this.paths.complete);
    });
    return { tree: this.tree() };
  }

  async suspend(): Promise<void> {
    await this.closeWriting().catch(() => undefined);
  }

  async discard(): Promise<void> {
    await this.closeWriting().catch(() => undefined);
    await Promise.all([rm(this.paths.part, { recursive: true, force: true }), rm(this.paths.manifest, { force: true })]).catch(() => undefined);
  }

  /** The received clip as a body, its files in their directory. */
  private tree(): FileTree {
    const { manifest, spans } = this.parsed!;
    const dir = this.paths.complete;
    return {
      manifest,
      manifestBytes: Buffer.concat(this.manifestBytes),
      files: spans.map((s) => ({ source: join(dir, s.path), size: s.size })),
      roots: rootsOf(manifest).map((e) => join(dir, e.path)),
      dir,
    };
  }

  private parse(bytes: Buffer): { manifest: FileManifest; spans: Span[] } {
    const manifest = parseManifest(bytes, this.meta.formats[1]!.size, this.limits);
    return { manifest, spans: fileSpans(manifest) };
  }

  /** The manifest is in: check every name, then make the folders (and keep it for a resume). */
  private async manifestComplete(): Promise<void> {
    const bytes = Buffer.concat(this.manifestBytes);
    this.manifestBytes = [bytes];
    this.parsed = this.parse(bytes);
    await this.io('creating received folders', async () => {
      for (const entry of this.parsed!.manifest.entries) {
        if (entry.dir === true) await mkdir(join(this.paths.part, entry.path)).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
      }
      await writeFile(this.paths.manifest, bytes, { mode: 0o600 });
    });
  }

  /**
   * Writes data bytes (the part after the manifest) to the files they belong to, from the
   * first incomplete one on; files of no bytes are created as the data passes them.
   */
  private async store(data: Buffer): Promise<void> {
    const { spans } = this.parsed!;
    let position = this.received - this.manifestSize; // data offset of data[0]
    let at = 0;
    // Small files whole in this chunk are written side by side on the thread pool, while this
    // thread goes on decrypting what arrives: one at a time (or with blocking calls) a folder
    // of 10,000 small files kept the receiver waiting on little else.
    const batch: Promise<void>[] = [];
    while (this.nextSpan < spans.length) {
      const span = spans[this.nextSpan]!;
      const inFile = position - span.start;
      const take = Math.min(data.length - at, span.size - inFile);
      if (take <= 0 && span.size > 0) break; // this chunk ends before this file's bytes
      if (inFile === 0 && take === span.size && span.size <= SMALL_FILE_BYTES && this.writing === undefined) {
        batch.push(writeNewFile(join(this.paths.part, span.path), data.subarray(at, at + take), this.modeOf(span)));
        at += take;
        position += take;
        this.nextSpan++;
        if (batch.length >= BATCH_FILES) await settleAll(batch.splice(0));
        continue;
      }
      await settleAll(batch.splice(0));
      const appender = await this.appenderFor(this.nextSpan, inFile);
      if (take > 0) await appender.append(data.subarray(at, at + take));
      at += Math.max(0, take);
      position += Math.max(0, take);
      if (inFile + Math.max(0, take) < span.size) break; // the file goes on in the next chunk
      await this.closeWriting();
      this.nextSpan++;
    }
    await settleAll(batch);
  }

  private modeOf(span: Span): number {
    const entry = this.parsed!.manifest.entries[span.index]!;
    return entry.dir !== true && entry.exec ? 0o755 : 0o644;
  }

  /**
   * The file being written, appended to with direct I/O where the file system has it, as the
   * spool's part files are (part-appender.ts): a large received file then costs no fresh
   * page-cache pages, which on this kind of virtual machine cost more than decrypting it.
   */
  private async appenderFor(index: number, inFile: number): Promise<PartAppender> {
    if (this.writing?.span === index) return this.writing.appender;
    await this.closeWriting();
    const span = this.parsed!.spans[index]!;
    const path = join(this.paths.part, span.path);
    // A fresh file is created, never opened through an existing name: the names were checked
    // and the folder is ours, so 'wx' failing means something is wrong, not a file to reuse.
    const handle = await open(path, inFile === 0 ? 'wx+' : 'r+', this.modeOf(span));
    try {
      const appender = await PartAppender.open(path, handle, inFile, { direct: span.size > SMALL_FILE_BYTES });
      this.writing = { span: index, handle, appender };
      return appender;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Writes out what the appender still stages (a partial block) and closes the file. */
  private async closeWriting(): Promise<void> {
    const writing = this.writing;
    this.writing = undefined;
    if (writing === undefined) return;
    try {
      await writing.appender.flush();
    } finally {
      await writing.handle.close();
    }
  }

  /**
   * How much of what an earlier try left is proven: the files are read in order, as far as
   * each is complete, and hashed leaf by leaf against the OFFER's leaf hashes; the result is
   * the end of the last leaf that matched (or the whole clip).
   */
  private async prove(): Promise<number> {
    const { spans } = this.parsed!;
    const hasher = new LeafHasher();
    let good = 0;
    let bad = false;
    const onLeaf = (index: number, hash: Buffer): void => {
      if (bad) return;
      if (hash.equals(this.meta.leaves!.subarray(index * CONTENT_HASH_BYTES, (index + 1) * CONTENT_HASH_BYTES))) good = Math.min(this.meta.size, (index + 1) * LEAF_BYTES);
      else bad = true;
    };
    hasher.update(this.manifestBytes[0]!, onLeaf);
    const buffer = Buffer.allocUnsafe(LEAF_BYTES);
    let complete = true;
    for (const span of spans) {
      if (bad) break;
      const path = join(this.paths.part, span.path);
      const have = (await stat(path).catch(() => undefined))?.size;
      if (have === undefined) {
        complete = false;
        break;
      }
      const handle = await open(path, 'r');
      try {
        for (let at = 0; at < Math.min(have, span.size) && !bad; ) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, span.size - at), at);
          if (bytesRead === 0) break;
          hasher.update(buffer.subarray(0, bytesRead), onLeaf);
          at += bytesRead;
        }
      } finally {
        await handle.close();
      }
      if (have < span.size) {
        complete = false;
        break;
      }
    }
    if (complete && !bad && hasher.size === this.meta.size) hasher.finish(onLeaf);
    return good;
  }

  /** Keeps exactly the first `offset` bytes of the clip: the file it falls in is cut there, later ones go. */
  private async cutTo(offset: number): Promise<void> {
    await this.closeWriting();
    if (offset < this.manifestSize) {
      await rm(this.paths.part, { recursive: true, force: true });
      await rm(this.paths.manifest, { force: true });
      await mkdir(this.paths.part, { mode: 0o700 });
      this.manifestBytes = [];
      this.parsed = undefined;
      this.nextSpan = 0;
      offset = 0;
    } else {
      const { spans } = this.parsed!;
      const data = offset - this.manifestSize;
      this.nextSpan = this.spanAt(data);
      // Files are written in order, small ones side by side within one DATA frame (at most
      // one frame's worth of them, fewer than MAX_BATCH_FILES): past that many missing in a
      // row, none is there (a kill -9 cut one batch at most).
      for (let i = this.nextSpan, missing = 0; i < spans.length && missing < MAX_BATCH_FILES; i++) {
        const span = spans[i]!;
        const path = join(this.paths.part, span.path);
        if (i === this.nextSpan && data > span.start) await truncate(path, data - span.start);
        else missing = removeIfThere(path) ? 0 : missing + 1;
      }
    }
    this.received = offset;
    this.verifier = new LeafVerifier(this.meta.leaves!, this.meta.size, offset);
  }

  /** The first span not complete when `data` bytes of file data are in. */
  private spanAt(data: number): number {
    const { spans } = this.parsed!;
    let i = 0;
    while (i < spans.length && spans[i]!.start + spans[i]!.size <= data && !(spans[i]!.size === 0 && spans[i]!.start === data)) i++;
    return i;
  }

  private io<T>(doing: string, step: () => Promise<T>): Promise<T> {
    return step().catch((err: unknown) => Promise.reject(isClipsyncError(err) ? err : spoolIoError(err, doing, this.paths.root, 'received files')));
  }
}

/** Small files written side by side at most: enough to keep the thread pool busy. */
const BATCH_FILES = 256;
/**
 * Past this many missing files in a row, none later is there: files are written in order,
 * at most BATCH_FILES at a time, so a kill -9 leaves at most that many out of order.
 */
const MAX_BATCH_FILES = 16 * BATCH_FILES;

/**
 * Creates `path` (never through an existing name) holding `data`. Callback calls, not
 * FileHandles: thousands run in a row, and each FileHandle costs the main thread more than
 * the write.
 */
function writeNewFile(path: string, data: Buffer, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(path, 'wx', mode, (openErr, fd) => {
      if (openErr !== null) return reject(openErr);
      const finish = (err: unknown): void => fs.close(fd, (closeErr) => (err !== undefined ? reject(err) : closeErr !== null ? reject(closeErr) : resolve()));
      const writeFrom = (done: number): void => {
        if (done === data.length) return finish(undefined);
        fs.write(fd, data, done, data.length - done, done, (err, written) => (err !== null ? finish(err) : writeFrom(done + written)));
      };
      writeFrom(0);
    });
  });
}

/** Removes a file; false when there was none. */
function removeIfThere(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function tryOrUndefined<T>(make: () => T): T | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}
