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
 * longer anywhere here, and `demand()` rejects with why.
 *
 * The copy is made once, when the first of these asks: `start()` (the copy route, at the
 * time it chooses) or `demand()` (a paste here, or the desktop clipboard reading the clip,
 * which cannot wait for the route: it may be what the route itself is waiting on).
 */
export class LocalFileFill implements FillingFile {
  failure: Error | undefined;
  /** Set once the held handle is closed: readers go to the finished copy. */
  private released = false;
  private started = false;
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  private readonly complete: Promise<void>;

  /**
   * `make` copies the held file to `finalPath` (resolving once it is in place there); `done`
   * hears how it went, after the held handle is closed (not when the copy was cancelled).
   */
  constructor(
    private readonly source: FileHandle,
    private readonly finalPath: string,
    private readonly make: () => Promise<void>,
    private readonly done: (err: Error | undefined) => void,
  ) {
    this.complete = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.complete.catch(() => undefined); // a failure is for whoever reads the clip, if anyone does
  }

  /** Makes the copy, unless it is being (or was) made; resolves once it is in place. */
  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      void this.run();
    }
    return this.complete;
  }

  demand(): Promise<void> {
    return this.start();
  }

  supersede(): void {
    if (this.started) return;
    this.started = true;
    void this.end(undefined, false);
  }

  /** Lets the copy go unmade (its clip was refused); false when it was already started. */
  async cancel(why: Error): Promise<boolean> {
    if (this.started) return false;
    this.started = true;
    await this.end(why, false); // not for `done`: nobody asked for this copy
    return true;
  }

  private async run(): Promise<void> {
    let failure: Error | undefined;
    try {
      await this.make();
    } catch (err) {
      failure = err as Error;
    }
    await this.end(failure, true);
  }

  /**
   * Readers see the failure before the handle goes, so none reads on past it; `done` hears
   * before anyone waiting does, so they find the registry already up to date.
   */
  private async end(failure: Error | undefined, tellDone: boolean): Promise<void> {
    this.failure = failure;
    this.released = true;
    await this.source.close().catch(() => undefined);
    if (tellDone) this.done(failure);
    if (failure === undefined) this.settle.resolve();
    else this.settle.reject(failure);
  }

  openReader(): FileReader {
    let own: Promise<FileHandle> | undefined;
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
        // One open, however many reads arrive at once.
        own ??= open(this.finalPath, 'r');
        return (await own).read(buffer, offset, length, position);
      },
      close: async () => {
        const handle = await own?.catch(() => undefined);
        await handle?.close().catch(() => undefined);
      },
    };
  }
}

/**
 * Copies `size` bytes from `source` to `dest` (open for reading and writing at `destPath`)
 * a leaf at a time, checking each leaf against `leaves` before it is written. Throws
 * LeafMismatch when a leaf differs or the source ends early.
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
  // Bytes appended since the hashing are not the clip's: its first `size` bytes, all checked, are.
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
