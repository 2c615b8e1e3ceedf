import type { ClipboardPort } from '../sync/ports.js';
import type { ClipboardBackend } from './backend.js';
import type { ClipboardWatcher } from './watcher.js';

/**
 * The clipboard as the sync engine uses it: a received clip is written to the backend and, when
 * it took, remembered by the watcher, so that reading it back is not taken for a new local copy
 * (that would echo every received clip back out).
 */
export function clipboardPort(backend: ClipboardBackend, watcher: () => ClipboardWatcher | undefined): ClipboardPort {
  return {
    async write(clip) {
      const outcome = await backend.write(clip);
      if (outcome === 'written') watcher()?.noteWritten(clip.data);
      return outcome;
    },
  };
}
