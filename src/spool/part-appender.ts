import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { writeAll } from './spool-files.js';

/**
 * Direct I/O wants the memory, the file offset and the length aligned to the device's logical
 * block. 4096 suits devices with 512-byte and with 4 KiB sectors alike.
 */
export const DIRECT_ALIGN = 4096;
/** A WebAssembly page: the unit a WebAssembly.Memory is sized in. */
const WASM_PAGE = 64 * 1024;
/** Staging room for one DATA frame (under 1 MiB) and a partial block carried over. */
const STAGING_PAGES = (1024 * 1024 + WASM_PAGE) / WASM_PAGE;
const STAGING_BYTES = STAGING_PAGES * WASM_PAGE;
/**
 * Direct writes handed to the disk and not yet done, per file. Two: the disk takes the next
 * block while this thread stages (and the caller hashes) the chunk after it, so a received
 * clip goes at the disk's speed rather than at the disk's plus the staging's (docs/BENCHMARKS.md).
 */
export const WRITES_IN_FLIGHT = 2;
/** Staging buffers kept for the next transfer rather than left to the garbage collector. */
const IDLE_STAGING_KEPT = WRITES_IN_FLIGHT + 1;
/** The most an appender holds that is not in the file yet: its writes under way and a partial block. */
export const MAX_UNWRITTEN_BYTES = WRITES_IN_FLIGHT * STAGING_BYTES + DIRECT_ALIGN;

/**
 * Node has no aligned allocation, and a Buffer's memory comes from malloc. A WebAssembly
 * memory is mapped by V8 on pages of its own, so its buffer starts page-aligned. Should that
 * ever not hold, the first direct write fails with EINVAL and the file falls back to the page
 * cache (see `PartAppender.writeDirect`): slower, never wrong.
 */
const idleStaging: Buffer[] = [];
function takeStaging(): Buffer {
  return idleStaging.pop() ?? Buffer.from(new WebAssembly.Memory({ initial: STAGING_PAGES, maximum: STAGING_PAGES }).buffer);
}
function giveStaging(buffer: Buffer): void {
  if (idleStaging.length < IDLE_STAGING_KEPT) idleStaging.push(buffer);
}

/** A direct write under way: its staging buffer is the kernel's until `done` settles. */
interface InFlight {
  staging: Buffer;
  /** File offset where it ends: the file holds everything before it once `done` resolves. */
  end: number;
  done: Promise<void>;
}

export interface AppenderOptions {
  /** False: through the page cache only. */
  direct?: boolean;
  /**
   * Opens the part for direct writes. Tests pass a handle whose writes fail with EINVAL, a
   * refusal no real file system here produces on demand.
   */
  openDirect?: (path: string) => Promise<FileHandle>;
  /** Direct writes under way at most (default WRITES_IN_FLIGHT); the benchmark compares 1. */
  writesInFlight?: number;
}

/** Whether this process still tries O_DIRECT: a file system that refused it once is not asked again. */
let directUsable = process.platform === 'linux' && constants.O_DIRECT !== undefined;

/**
 * Appends a clip's bytes to its part file, with direct I/O where the file system has it.
 *
 * Why: through the page cache, every byte of a large incoming clip lands in a page the kernel
 * takes fresh from free memory. On a virtual machine whose host reclaims free guest memory
 * (balloon free-page reporting, usual in clouds) each such page faults on the host too: here
 * that cost 0.8 s per 256 MiB, more than the decryption and the hashing of those bytes
 * together (docs/BENCHMARKS.md). A clip is read back at most a few times, so caching it buys
 * little, and direct writes also leave the cache to what the machine is doing otherwise.
 *
 * Direct writes move whole blocks from aligned memory: each chunk is copied into a staging
 * buffer, whole blocks go to the file, and a partial block waits for the next chunk. `flush`
 * writes that remainder through the page cache, after which the file holds everything appended.
 * Where O_DIRECT is missing (tmpfs on older kernels, macOS) it is plain positional writes.
 */
export class PartAppender {
  private carry = 0;
  /** Oldest first; each one's bytes follow the one before, so they complete `inFile` in order. */
  private readonly inFlight: InFlight[] = [];
  /** Where the next direct write goes: after every staged write, done or not. */
  private dispatched: number;
  /** A direct write was refused (EINVAL) and rewritten through the page cache: direct I/O stops here. */
  private refused = false;

  private constructor(
    private readonly file: FileHandle,
    private direct: FileHandle | undefined,
    private staging: Buffer | undefined,
    /** Bytes in the file: what a checkpoint may claim once synced. */
    private inFile: number,
    private readonly maxInFlight = WRITES_IN_FLIGHT,
  ) {
    this.dispatched = inFile;
  }

  /**
   * `file` is the part, open for reading and writing and already cut to `offset`, where
   * appending continues (a resume may start anywhere: the partial block before it is read back).
   * `direct: false` asks for the page cache.
   */
  static async open(path: string, file: FileHandle, offset: number, options: AppenderOptions = {}): Promise<PartAppender> {
    const wanted = (options.direct ?? true) && directUsable;
    const openDirect = options.openDirect ?? ((p: string) => open(p, constants.O_WRONLY | constants.O_DIRECT));
    const direct = wanted ? await openDirect(path).catch(() => undefined) : undefined;
    if (direct === undefined) return new PartAppender(file, undefined, undefined, offset);
    const staging = takeStaging();
    const start = offset - (offset % DIRECT_ALIGN);
    const appender = new PartAppender(file, direct, staging, start, Math.max(1, options.writesInFlight ?? WRITES_IN_FLIGHT));
    try {
      const { bytesRead } = await file.read(staging, 0, offset - start, start);
      if (bytesRead !== offset - start) throw new Error(`part file ends before ${offset} bytes`);
      appender.carry = bytesRead;
      return appender;
    } catch (err) {
      await appender.close();
      throw err;
    }
  }

  /** Bytes appended so far (in the file, on their way to it, or staged for it). */
  get appended(): number {
    return this.dispatched + this.carry;
  }

  /** Bytes already in the file: not those staged, nor those of direct writes still under way. */
  get written(): number {
    return this.inFile;
  }

  /** True while writes bypass the page cache. */
  get isDirect(): boolean {
    return this.direct !== undefined;
  }

  /**
   * Appends `chunk`; it may be reused once this resolves. With direct I/O its whole blocks may
   * still be on their way to the disk then (`settle` waits for them); a write that failed
   * rejects the next append, `settle` or `flush`.
   */
  async append(chunk: Buffer): Promise<void> {
    if (this.direct === undefined || this.staging === undefined) {
      await writeAll(this.file, chunk, this.inFile);
      this.inFile += chunk.length;
      this.dispatched = this.inFile;
      return;
    }
    for (let done = 0; done < chunk.length; ) {
      const staging = this.staging;
      const length = Math.min(chunk.length - done, staging.length - this.carry);
      chunk.copy(staging, this.carry, done, done + length);
      done += length;
      const staged = this.carry + length;
      const whole = staged - (staged % DIRECT_ALIGN);
      this.carry = staged;
      if (whole > 0) await this.dispatch(whole);
      if (this.refused) {
        // Direct I/O was refused mid-way: the rest goes through the page cache.
        await this.flush();
        await this.append(chunk.subarray(done));
        return;
      }
    }
  }

  /** Waits until every direct write handed to the disk is done: then `written` is all but the staged partial block. */
  async settle(): Promise<void> {
    while (this.inFlight.length > 0) await this.completeOldest();
  }

  /**
   * Writes the staged partial block through the page cache. From here on the file holds every
   * appended byte, and later appends go through the page cache too (the end is not aligned).
   */
  async flush(): Promise<void> {
    await this.settle();
    if (this.carry > 0) {
      await writeAll(this.file, this.staging!.subarray(0, this.carry), this.inFile);
      this.inFile += this.carry;
      this.dispatched = this.inFile;
      this.carry = 0;
    }
    await this.close();
  }

  /**
   * Releases the direct handle and the staging memory; the part file handle stays the caller's.
   * Direct writes still under way are waited for (their memory is the kernel's until then) and
   * their errors dropped: closing gives up on what was not flushed.
   */
  async close(): Promise<void> {
    // Every one, not up to the first that failed: the others' buffers are still being written from.
    while (this.inFlight.length > 0) await this.completeOldest().catch(() => undefined);
    await this.closeDirectHandle();
    if (this.staging !== undefined) giveStaging(this.staging);
    this.staging = undefined;
  }

  /**
   * Hands the staging buffer's first `whole` bytes to the disk without waiting, and moves the
   * partial block after them to the front of a free staging buffer, which becomes the current
   * one. At most `maxInFlight` are under way: beyond that the oldest is waited for first.
   */
  private async dispatch(whole: number): Promise<void> {
    while (this.inFlight.length >= this.maxInFlight) await this.completeOldest();
    const full = this.staging!;
    const next = takeStaging();
    full.copy(next, 0, whole, this.carry); // the partial block moves to the front
    this.carry -= whole;
    this.staging = next;
    const at = this.dispatched;
    this.dispatched += whole;
    const done = this.writeDirect(full.subarray(0, whole), at);
    done.catch(() => undefined); // awaited in completeOldest; a failure is not unhandled meanwhile
    this.inFlight.push({ staging: full, end: at + whole, done });
  }

  private async completeOldest(): Promise<void> {
    const oldest = this.inFlight[0]!;
    try {
      await oldest.done;
    } finally {
      this.inFlight.shift();
      giveStaging(oldest.staging);
    }
    this.inFile = oldest.end;
  }

  private async writeDirect(data: Buffer, at: number): Promise<void> {
    try {
      await writeAll(this.direct!, data, at);
    } catch (err) {
      // EINVAL: the file system or the memory does not meet direct I/O's alignment after all.
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      directUsable = false;
      this.refused = true;
      await writeAll(this.file, data, at);
    }
  }

  private async closeDirectHandle(): Promise<void> {
    const direct = this.direct;
    this.direct = undefined;
    await direct?.close().catch(() => undefined);
  }
}
