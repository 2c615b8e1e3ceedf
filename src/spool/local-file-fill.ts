import { open, type FileHandle } from 'node:fs/promises';
import { PartAppender } from './part-appender.js';
import { LEAF_BYTES, LeafMismatch, LeafVerifier } from '../content/content-hash.js';
import type { FileReader, FillingFile } from '../core/filling-files.js';

/**
 * The spool's copy of a file the user copied (`clipsync copy FILE`), made after the clip was
 * already offered: its leaf hashes came from a first read of the file, so every leaf is
 * checked against them as it is copied. Until then the clip is read from the file itself,
 * through the handle held since that first read (core/filling-files.ts). A leaf that no
 * longer matches (the file was changed in place) stops the copy: the clip's bytes are then no
 * longer anywhere here, and `complete` rejects with why.
 */
export class LocalFileFill implements FillingFile {
  failure: Error | undefined;
  /** Set once the held handle is closed: readers go to the finished copy. */
  private released = false;
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  readonly complete: Promise<void>;

  constructor(
    private readonly source: FileHandle,
    private readonly finalPath: string,
  ) {
    this.complete = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.complete.catch(() => undefined); // a failure is for whoever reads the clip, if anyone does
  }

  openReader(): FileReader {
    let own: FileHandle | undefined;
    return {
      read: async (buffer, offset, length, position) => {
        if (this.failure !== undefined) throw this.failure;
        if (!this.released) {
          try {
            return await this.source.read(buffer, offset, length, position);
          } catch (err) {
            if (!this.released) throw err; // closed under us only because the copy is done
          }
        }
        if (this.failure !== undefined) throw this.failure;
        own ??= await open(this.finalPath, 'r');
        return own.read(buffer, offset, length, position);
      },
      close: async () => {
        await own?.close().catch(() => undefined);
      },
    };
  }

  /** The copy is in place under its final name (or failed): the held handle goes. */
  async release(): Promise<void> {
    this.released = true;
    await this.source.close().catch(() => undefined);
  }

  succeed(): void {
    this.settle.resolve();
  }

  fail(err: Error): void {
    this.failure = err;
    this.settle.reject(err);
  }
}

/**
 * Copies `size` bytes from `source` to `dest` (open for reading and writing at `destPath`)
 * a leaf at a time, checking each leaf against `leaves` before it is written. Throws LeafMismatch when a leaf differs, the source ends
 * early, or it has grown past `size`.
 */
export async function copyCheckedLeaves(source: FileHandle, dest: FileHandle, destPath: string, leaves: Buffer, size: number): Promise<void> {
  // Direct I/O, as for received clips (part-appender.ts): through the page cache, the fresh
  // pages of the copy cost more than the copy itself here, and slowed the transfer beside it.
  const appender = await PartAppender.open(destPath, dest, 0);
  try {
    await copyLeaves(source, appender, leaves, size);
  } finally {
    await appender.close();
  }
}

async function copyLeaves(source: FileHandle, appender: PartAppender, leaves: Buffer, size: number): Promise<void> {
  const verifier = new LeafVerifier(leaves, size);
  const buffers = [Buffer.allocUnsafe(LEAF_BYTES), Buffer.allocUnsafe(LEAF_BYTES)];
  let turn = 0;
  // The next leaf is read while this one is checked and written.
  let next = readLeaf(source, buffers[turn]!, 0, size);
  for (let at = 0; at < size; ) {
    const leaf = await next;
    const end = at + leaf.length;
    turn ^= 1;
    next = readLeaf(source, buffers[turn]!, end, size);
    next.catch(() => undefined); // surfaces when awaited
    verifier.update(leaf);
    if (end === size) verifier.finish();
    await appender.append(leaf);
    at = end;
  }
  await next;
  await appender.flush();
  if (size === 0) verifier.finish();
  // Grown since it was hashed: the clip is what it was, but the file is no longer that.
  const { bytesRead } = await source.read(Buffer.alloc(1), 0, 1, size);
  if (bytesRead !== 0) throw new LeafMismatch(Math.max(0, Math.ceil(size / LEAF_BYTES) - 1), size);
}

/** The leaf of the file that starts at `at` (empty at the end); a file that ends early is a mismatch. */
async function readLeaf(source: FileHandle, buffer: Buffer, at: number, size: number): Promise<Buffer> {
  const length = Math.min(LEAF_BYTES, size - at);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await source.read(buffer, got, length - got, at + got);
    if (bytesRead === 0) throw new LeafMismatch(Math.floor(at / LEAF_BYTES), at);
    got += bytesRead;
  }
  return buffer.subarray(0, length);
}
