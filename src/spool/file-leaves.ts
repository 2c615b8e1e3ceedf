import type { FileHandle } from 'node:fs/promises';
import { LeafHasher } from '../content/content-hash.js';

/** A file is read in pieces this big: few trips to the thread pool, little memory. */
const READ_BYTES = 1024 * 1024;

/**
 * The leaf hashes of a whole file and its length, read from the start of `handle`. Each piece
 * also goes to `inspect` (the copy route guesses a type from the bytes) before the next is asked
 * for. The next piece is read while this one is hashed.
 */
export async function hashFileLeaves(handle: FileHandle, inspect?: (piece: Buffer) => void): Promise<{ leaves: Buffer; size: number }> {
  const hasher = new LeafHasher();
  let size = 0;
  for await (const piece of filePieces(handle)) {
    inspect?.(piece);
    hasher.update(piece);
    size += piece.length;
  }
  return { leaves: hasher.finish(), size };
}

/**
 * The file's bytes in pieces of READ_BYTES, the next one read while the consumer handles the
 * current one. Two buffers take turns, so a piece is valid only until the consumer asks for
 * the one after it.
 */
async function* filePieces(handle: FileHandle): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  let turn = 0;
  let at = 0;
  let next = handle.read(buffers[turn]!, 0, READ_BYTES, at);
  for (;;) {
    const { bytesRead, buffer } = await next;
    if (bytesRead === 0) return;
    at += bytesRead;
    turn ^= 1;
    next = handle.read(buffers[turn]!, 0, READ_BYTES, at);
    next.catch(() => undefined); // surfaces when awaited
    yield buffer.subarray(0, bytesRead);
  }
}
