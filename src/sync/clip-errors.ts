import { fail, type ClipsyncError } from '../core/errors.js';
import { LeafMismatch, type LeafVerifier } from '../content/content-hash.js';

/**
 * A received clip that is not what its OFFER announced: the same errors whether it arrived in
 * memory or into a spool file, so a sender hears one reason for one fault.
 */

export function hashMismatchError(id: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_HASH_MISMATCH', `content hash mismatch: the bytes received are not clip ${id.slice(0, 16)}…; it was discarded`, {
    hint: 'the sender will be asked again; if this repeats, the peer or the network is corrupting data',
  });
}

export function sizeMismatchError(id: string, got: number, size: number): ClipsyncError {
  const how = got > size ? `more than its announced ${size} bytes` : `only ${got} of its ${size} bytes`;
  return fail('CLIPSYNC_ERR_TRANSFER', `clip ${id.slice(0, 16)}… sent ${how}; it was discarded`);
}

/** One leaf of a clip arrived (or was kept on disk) with bytes that are not the clip's. */
export function leafMismatchError(id: string, mismatch: LeafMismatch): ClipsyncError {
  return fail('CLIPSYNC_ERR_HASH_MISMATCH', `content hash mismatch: leaf ${mismatch.index} (from byte ${mismatch.start}) of clip ${id.slice(0, 16)}… is not what its OFFER announced`, {
    hint: 'that leaf is asked for again; if it keeps failing, the sender\'s copy or the network is corrupting data',
    cause: mismatch,
  });
}

/** Feeds `chunk` to the verifier; a leaf that does not match throws the error sinks throw for it (rewind then). */
export function verifyChunk(verifier: LeafVerifier, id: string, chunk: Uint8Array): void {
  try {
    verifier.update(chunk);
  } catch (err) {
    if (err instanceof LeafMismatch) throw leafMismatchError(id, err);
    throw err;
  }
}

/** Checks the last leaf once every byte is in: the whole clip is not what its OFFER announced otherwise. */
export function verifyEnd(verifier: LeafVerifier, id: string): void {
  try {
    verifier.finish();
  } catch (err) {
    if (err instanceof LeafMismatch) throw hashMismatchError(id);
    throw err;
  }
}

/** The leaf a write refused (the sink keeps every leaf before it and can rewind to it), if that is what `err` is. */
export function mismatchedLeaf(err: unknown): LeafMismatch | undefined {
  return err instanceof Error && err.cause instanceof LeafMismatch ? err.cause : undefined;
}
