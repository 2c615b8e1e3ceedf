import { messageOf } from '../core/errors.js';
import { componentLogger, type Logger } from '../core/log.js';
import type { ClipboardBackend } from '../clipboard/backend.js';
import { ClipboardWatcher } from '../clipboard/watcher.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { DaemonSetup } from './daemon-setup.js';

/**
 * A watcher of the system clipboard (none for the memory backend): what it held at start is
 * adopted as the current clip, older than any copy; each later change is a local copy.
 */
export function clipboardWatcher(setup: DaemonSetup, backend: ClipboardBackend, sync: SyncEngine, log: Logger): ClipboardWatcher | undefined {
  if (backend.kind !== 'system') return undefined;
  const watcher = new ClipboardWatcher(
    backend,
    setup.config.pollIntervalMs,
    (content, initial) => {
      if (initial) sync.adoptInitial(content);
      else void sync.copyLocal({ data: content.data }, content.mime, 'clipboard').catch((err: unknown) => log.warn({ reason: messageOf(err) }, 'clipboard change not synced'));
    },
    componentLogger(setup.root, 'clipboard'),
  );
  return watcher;
}
