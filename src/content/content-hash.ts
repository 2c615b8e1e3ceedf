import { Blake3Hasher, blake3 } from '@napi-rs/blake-hash';

/**
 * The content id and the leaf hashes that let a receiver verify a clip as it arrives.
 *
 * A clip's body is cut into leaves of LEAF_BYTES (the last one shorter; an empty body is one
 * empty leaf). Each leaf is hashed with BLAKE3, and the id is BLAKE3 in derive-key mode, under
 * its own context string, over the leaf hashes in order followed by the trailer (the clip's
 * formats, sync/clip.ts):
 *
 *   leaf[i] = BLAKE3(body[i·LEAF_BYTES … (i+1)·LEAF_BYTES))
 *   id      = BLAKE3-derive-key(ID_CONTEXT, leaf[0] ‖ … ‖ leaf[n-1] ‖ trailer)
 *
 * Why a list of leaves rather than BLAKE3's own tree: verifying a piece of a BLAKE3 hash needs
 * the chaining values of its subtrees, which no maintained Node binding exposes; hashing whole
 * leaves with the native one-shot BLAKE3 keeps its SIMD speed (several GB/s on one core) and
 * gives the same property. A receiver that has the leaf hashes (the OFFER carries them, and the
 * id proves them) checks each leaf as soon as it is complete, so a resumed transfer proves the
 * bytes it kept and a corrupt leaf is known by its index. docs/PROTOCOL.md §5.1.
 *
 * It lives apart from the channel's cryptography (secure/) because it is a property of the
 * clip, not of a connection.
 */

export const CONTENT_HASH_BYTES = 32;
/** The verification granule: a power of two, so leaves fall on direct-I/O block boundaries. */
export const LEAF_BYTES = 1024 * 1024;
/** BLAKE3 derive-key context of the id: keeps the id's domain apart from the leaves'. */
export const ID_CONTEXT = 'clipsync 2026-12-05 clip id over leaf hashes';

/** How many leaves a body of `size` bytes has (at least one). */
export function leafCount(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / LEAF_BYTES);
}

/** Where leaf `index` of a body of `size` bytes starts and ends. */
export function leafRange(index: number, size: number): { start: number; end: number } {
  const start = index * LEAF_BYTES;
  return { start, end: Math.min(size, start + LEAF_BYTES) };
}

/** Plain BLAKE3-256 of bytes held in memory. */
export function blake3Hash(data: Buffer): Buffer {
  return blake3(data);
}

/** The id (hex) of a body with these leaf hashes and this trailer. */
export function rootId(leaves: Buffer, trailer: Buffer): string {
  const hasher = Blake3Hasher.newDeriveKey(ID_CONTEXT);
  hasher.update(leaves);
  hasher.update(trailer);
  return hasher.digestBuffer().toString('hex');
}

/** The id and leaf hashes of a body held whole in memory. */
export function contentTree(body: Buffer, trailer: Buffer): { id: string; leaves: Buffer } {
  const count = leafCount(body.length);
  const leaves = Buffer.allocUnsafe(count * CONTENT_HASH_BYTES);
  for (let i = 0; i < count; i++) {
    const { start, end } = leafRange(i, body.length);
    blake3(body.subarray(start, end)).copy(leaves, i * CONTENT_HASH_BYTES);
  }
  return { id: rootId(leaves, trailer), leaves };
}

/**
 * Leaf hashes of bytes that arrive in pieces of any size: feed them in order with `update`,
 * then `finish` once. Each leaf is hashed incrementally as its bytes come, nothing is copied.
 */
export class LeafHasher {
  private readonly hasher = new Blake3Hasher();
  private readonly done: Buffer[] = [];
  private inLeaf = 0;
  private total = 0;

  /** Bytes fed so far. */
  get size(): number {
    return this.total;
  }

  /** Leaves completed so far. */
  get completed(): number {
    return this.done.length;
  }

  /**
   * Feeds `chunk`; `onLeaf` hears every leaf it completes, with its index and hash (a verifier
   * checks it there, before the bytes after it are fed).
   */
  update(chunk: Uint8Array, onLeaf?: (index: number, hash: Buffer) => void): void {
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunk.length - at, LEAF_BYTES - this.inLeaf);
      this.hasher.update(chunk.subarray(at, at + take) as Buffer);
      at += take;
      this.inLeaf += take;
      this.total += take;
      if (this.inLeaf === LEAF_BYTES) {
        const hash = this.closeLeaf();
        onLeaf?.(this.done.length - 1, hash);
      }
    }
  }

  /** The leaf hashes of everything fed, the last partial (or empty) leaf included. */
  finish(onLeaf?: (index: number, hash: Buffer) => void): Buffer {
    if (this.inLeaf > 0 || this.done.length === 0) {
      const hash = this.closeLeaf();
      onLeaf?.(this.done.length - 1, hash);
    }
    return Buffer.concat(this.done);
  }

  private closeLeaf(): Buffer {
    const hash = this.hasher.digestBuffer();
    this.hasher.reset();
    this.inLeaf = 0;
    this.done.push(hash);
    return hash;
  }
}

/** A leaf whose bytes do not hash to what the clip's leaf list says. */
export class LeafMismatch extends Error {
  constructor(
    readonly index: number,
    readonly start: number,
  ) {
    super(`leaf ${index} (from byte ${start}) does not match its hash`);
  }
}

/**
 * Checks a body against its leaf hashes as it arrives, from a leaf boundary (a fresh transfer,
 * or a resume from verified bytes). `update` throws LeafMismatch at the first leaf that does
 * not match; `verified` is how many bytes are proven so far (always a leaf boundary, or the
 * whole body once `finish` passed).
 */
export class LeafVerifier {
  private readonly hasher = new LeafHasher();
  private readonly firstLeaf: number;
  /** Leaves checked and found good since the start offset. */
  private proven = 0;
  private complete = false;

  constructor(
    private readonly leaves: Buffer,
    private readonly size: number,
    readonly startOffset = 0,
  ) {
    if (startOffset % LEAF_BYTES !== 0 && startOffset !== size) throw new RangeError(`verification must start on a leaf boundary, not at ${startOffset}`);
    if (leaves.length !== leafCount(size) * CONTENT_HASH_BYTES) throw new RangeError('leaf list does not fit the size');
    // Resumed with the whole body already proven: every leaf is behind us.
    this.firstLeaf = startOffset === size && size > 0 ? leafCount(size) : startOffset / LEAF_BYTES;
  }

  /** Bytes from the start of the body that are proven. */
  get verified(): number {
    return this.complete ? this.size : Math.min(this.size, (this.firstLeaf + this.proven) * LEAF_BYTES);
  }

  update(chunk: Uint8Array): void {
    this.hasher.update(chunk, (i, hash) => this.check(this.firstLeaf + i, hash));
  }

  /** Checks the last leaf; call once every byte was fed. */
  finish(): void {
    if (!(this.startOffset === this.size && this.size > 0)) this.hasher.finish((i, hash) => this.check(this.firstLeaf + i, hash));
    if (this.hasher.size !== this.size - this.startOffset) throw new LeafMismatch(leafCount(this.size) - 1, (leafCount(this.size) - 1) * LEAF_BYTES);
    this.complete = true;
  }

  private check(index: number, hash: Buffer): void {
    const at = index * CONTENT_HASH_BYTES;
    if (index >= leafCount(this.size) || !hash.equals(this.leaves.subarray(at, at + CONTENT_HASH_BYTES))) {
      throw new LeafMismatch(index, index * LEAF_BYTES);
    }
    this.proven++;
  }
}
