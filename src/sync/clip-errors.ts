import { fail, type ClipsyncError } from '../core/errors.js';

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
