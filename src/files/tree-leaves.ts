import { LEAF_BYTES, LeafHasher } from '../content/content-hash.js';
import { TreeReader, type FileTree } from './file-tree.js';

/** Ranges hashed side by side: the reads of each run on the thread pool while this thread hashes. */
const RANGES = 4;
const READ_BYTES = 1024 * 1024;

/**
 * The leaf hashes of a files clip's body (docs/PROTOCOL.md §5.1), read where the files are.
 * The body is cut at leaf boundaries into a few ranges read at once: copying the bytes out of
 * the page cache is most of the cost, and one reader at a time left the thread pool (and the
 * second core) idle while this thread hashed. Each range's leaves are its own, in order, so
 * the result is the same as one pass.
 */
export async function treeLeaves(tree: FileTree, size: number): Promise<Buffer> {
  const leaves = Math.max(1, Math.ceil(size / LEAF_BYTES));
  const perRange = Math.ceil(leaves / RANGES);
  const ranges: { start: number; end: number }[] = [];
  for (let first = 0; first < leaves; first += perRange) {
    ranges.push({ start: first * LEAF_BYTES, end: Math.min(size, (first + perRange) * LEAF_BYTES) });
  }
  const hashed = await Promise.all(ranges.map((range) => hashRange(tree, range)));
  return Buffer.concat(hashed);
}

/**
 * One range's leaves. A middle range ends on a leaf boundary, so `finish` adds no leaf there;
 * only the last one closes a partial leaf (or the one empty leaf of an empty body).
 */
async function hashRange(tree: FileTree, range: { start: number; end: number }): Promise<Buffer> {
  const hasher = new LeafHasher();
  const reader = new TreeReader(tree);
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  try {
    const readAt = (at: number, slot: number): Promise<Buffer> => {
      const length = Math.min(READ_BYTES, range.end - at);
      const buffer = buffers[slot]!;
      return reader.read(buffer, 0, length, at).then(() => buffer.subarray(0, length));
    };
    // One read ahead: the next piece is read while this one is hashed.
    let next = range.start < range.end ? readAt(range.start, 0) : undefined;
    for (let at = range.start, slot = 0; next !== undefined; slot ^= 1) {
      const piece = await next;
      at += piece.length;
      next = at < range.end ? readAt(at, slot ^ 1) : undefined;
      hasher.update(piece);
    }
  } finally {
    await reader.close();
  }
  return hasher.finish();
}
