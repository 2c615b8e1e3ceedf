import { open, type FileHandle } from 'node:fs/promises';
import { fillingFile, type FileReader } from '../core/filling-files.js';
import { fail } from '../core/errors.js';
import { LeafHasher, LeafVerifier } from '../content/content-hash.js';
import type { ClipMeta } from './clip.js';
import { TreeReader, type FileTree } from '../files/file-tree.js';
import { sizeMismatchError, verifyChunk, verifyEnd } from './clip-errors.js';

/**
 * Where a clip's bytes are: in memory for small clips, in a spool file for large ones, so
 * that neither side of a transfer ever holds a large clip whole.
 */
export type ClipBody =
  | { data: Buffer; file?: undefined; tree?: undefined }
  | { file: string; data?: undefined; tree?: undefined }
  /** A files clip: its manifest and the files themselves, read where they are (files/file-tree.ts). */
  | { tree: FileTree; data?: undefined; file?: undefined };

/** The `data`, `file` or `tree` field a Clip takes from a body (a body may carry more, such as its id). */
export function clipFieldsOf(body: ClipBody): { data: Buffer } | { file: string } | { tree: FileTree } {
  if (body.data !== undefined) return { data: body.data };
  return body.tree !== undefined ? { tree: body.tree } : { file: body.file };
}

/** The body of a clip that holds its bytes here (`isLocal`). */
export function bodyOf(clip: { data?: Buffer; file?: string; tree?: FileTree }): ClipBody {
  if (clip.data !== undefined) return { data: clip.data };
  if (clip.tree !== undefined) return { tree: clip.tree };
  return { file: clip.file! };
}

/**
 * The leaf hashes of a body (content/content-hash.ts), for a clip that was made without them:
 * a spooled one is read through once, a chunk at a time.
 */
export async function leavesOfBody(body: ClipBody, size: number): Promise<Buffer> {
  const hasher = new LeafHasher();
  if (body.data !== undefined) {
    hasher.update(body.data);
    return hasher.finish();
  }
  const reader = new ClipReader(body, size);
  try {
    for (let at = 0; at < size; ) {
      const length = Math.min(LEAVES_READ_BYTES, size - at);
      const next = at + length < size ? { offset: at + length, length: Math.min(LEAVES_READ_BYTES, size - at - length) } : undefined;
      hasher.update(await reader.read(at, length, next));
      at += length;
    }
  } finally {
    await reader.close();
  }
  return hasher.finish();
}

const LEAVES_READ_BYTES = 1024 * 1024;

/**
 * Reads a clip from an offset in chunks of at most `chunkBytes`. A file is read into two
 * buffers in turn: while one chunk is being encrypted and sent, the next is already being
 * read from disk. The caller must be done with a chunk before it asks for the next one
 * (each is encrypted into its frame before `send` resolves).
 */
export class ClipReader {
  private readonly buffers: (Buffer | undefined)[] = [undefined, undefined];
  private turn = 0;
  private handle: FileReader | undefined;
  private prefetched: { offset: number; length: number; chunk: Promise<Buffer> } | undefined;

  constructor(
    private readonly body: ClipBody,
    private readonly size: number,
  ) {}

  /** The chunk at `offset`; `next` names the one that will be asked for after it, to read ahead. */
  async read(offset: number, length: number, next?: { offset: number; length: number }): Promise<Buffer> {
    if (this.body.data !== undefined) return this.body.data.subarray(offset, offset + length);
    const ahead = this.prefetched;
    this.prefetched = undefined;
    const chunk = ahead !== undefined && ahead.offset === offset && ahead.length === length ? await ahead.chunk : await this.readInto(this.turn, offset, length);
    this.turn ^= 1;
    if (next !== undefined && next.length > 0) {
      const promise = this.readInto(this.turn, next.offset, next.length);
      promise.catch(() => undefined); // surfaces when that chunk is asked for
      this.prefetched = { ...next, chunk: promise };
    }
    return chunk;
  }

  private async readInto(slot: number, offset: number, length: number): Promise<Buffer> {
    const file = this.body.file ?? 'the files clip';
    if (this.body.tree !== undefined) this.handle ??= new TreeReader(this.body.tree);
    // A copy still filling in (`copy FILE`, spool.ts): read on from the file it is made from.
    const filling = this.body.file !== undefined ? fillingFile(this.body.file) : undefined;
    if (filling?.failure !== undefined) throw filling.failure;
    this.handle ??= filling !== undefined ? filling.openReader() : await open(file, 'r');
    let buffer = this.buffers[slot];
    if (buffer === undefined || buffer.length < length) this.buffers[slot] = buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw fail('CLIPSYNC_ERR_SPOOL', `spool file ${file} ends at ${offset + done} bytes, short of ${this.size}`, {
          hint: 'the spooled clip was removed or truncated; copy it again',
        });
      }
      done += bytesRead;
    }
    return buffer.subarray(0, length);
  }

  async close(): Promise<void> {
    await this.prefetched?.chunk.catch(() => undefined);
    this.prefetched = undefined;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}

/** Where an incoming transfer puts its bytes until the whole clip is verified. */
export interface IncomingSink {
  /** Bytes already held and verified against the stream so far: where a resume starts. */
  readonly offset: number;
  /**
   * Stores `chunk`, checking every leaf it completes. A leaf that does not match rejects with
   * an error `mismatchedLeaf` recognizes, and keeps every leaf before it: `rewind` then.
   */
  write(chunk: Buffer): Promise<void>;
  /** Drops whatever is not proven (the leaf that failed, and anything after it); resolves with the new offset. */
  rewind(): Promise<number>;
  /** Checks size and content id; resolves with the body, or rejects and keeps nothing. */
  finish(): Promise<ClipBody>;
  /** The connection dropped: keep what arrived, for a resume. */
  suspend(): Promise<void>;
  /** The transfer is over without a clip (cancelled, superseded, corrupt): keep nothing. */
  discard(): Promise<void>;
}

/** A small clip received into memory; kept across a reconnect for resuming. */
export class MemorySink implements IncomingSink {
  private chunks: Buffer[] = [];
  private verifier: LeafVerifier;
  private received = 0;

  constructor(private readonly meta: ClipMeta) {
    this.verifier = new LeafVerifier(meta.leaves!, meta.size);
  }

  get offset(): number {
    return this.received;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.received + chunk.length > this.meta.size) throw sizeMismatchError(this.meta.id, this.received + chunk.length, this.meta.size);
    // Each leaf is checked as soon as its last byte is in: a bad one fails here, not at the end.
    verifyChunk(this.verifier, this.meta.id, chunk);
    // The chunk is a view of a freshly decrypted message that nothing else holds: no copy.
    this.chunks.push(chunk);
    this.received += chunk.length;
  }

  async rewind(): Promise<number> {
    const proven = this.verifier.verified;
    const kept: Buffer[] = [];
    for (let at = 0, i = 0; at < proven && i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!;
      kept.push(chunk.subarray(0, Math.min(chunk.length, proven - at)));
      at += chunk.length;
    }
    this.chunks = kept;
    this.received = proven;
    this.verifier = new LeafVerifier(this.meta.leaves!, this.meta.size, proven);
    return proven;
  }

  async finish(): Promise<ClipBody> {
    if (this.received !== this.meta.size) throw sizeMismatchError(this.meta.id, this.received, this.meta.size);
    verifyEnd(this.verifier, this.meta.id);
    return { data: Buffer.concat(this.chunks, this.received) };
  }

  async suspend(): Promise<void> {}

  async discard(): Promise<void> {
    this.chunks.length = 0;
  }
}
