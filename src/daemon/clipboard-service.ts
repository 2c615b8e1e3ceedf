import { messageOf } from '../core/errors.js';
import { componentLogger, type Logger } from '../core/log.js';
import type { ClipboardBackend, Selection } from '../clipboard/backend.js';
import { FormatPolicy, type FormatPolicyOptions } from '../clipboard/formats.js';
import type { Config } from '../core/config/config.js';
import { ClipboardWatcher } from '../clipboard/watcher.js';
import { assembleClip } from '../sync/clip.js';
import { copyFilesLocally } from '../sync/files-clip.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { DaemonSetup } from './daemon-setup.js';
import type { SyncEngines } from './sync-service.js';

/** Which types travel and their caps, from the config. */
export function formatPolicy(setup: DaemonSetup): FormatPolicy {
  return new FormatPolicy(formatPolicyOptions(setup.config));
}

/** The format policy's settings in a config (again on each reload: formats, maxClipBytes, sendSensitive are live). */
export function formatPolicyOptions(config: Config): FormatPolicyOptions {
  return { extra: config.formats.extra, maxFormatBytes: config.formats.maxBytes, maxClipBytes: config.maxClipBytes, sendSensitive: config.sendSensitive };
}

/**
 * A watcher of the desktop clipboard (none for the memory backend): what it held at start is
 * adopted as the current clip, older than any copy; each later change is a local copy. When
 * the display comes back after going away, the current clip is offered to it again.
 */
export function clipboardWatcher(setup: DaemonSetup, backend: ClipboardBackend, engines: SyncEngines, log: Logger, policy: FormatPolicy = formatPolicy(setup)): ClipboardWatcher | undefined {
  if (backend.kind === 'memory' && !backend.hasEvents) return undefined;
  const selections: Selection[] = engines.primary === undefined ? ['clipboard'] : ['clipboard', 'primary'];
  const engineFor = (selection: Selection): SyncEngine => (selection === 'primary' ? engines.primary! : engines.clipboard);
  return new ClipboardWatcher(
    backend,
    policy,
    selections,
    (copy) => {
      const sync = engineFor(copy.selection);
      if (copy.initial) return sync.adoptInitial(copy.formats);
      const failed = (err: unknown): void => log.warn({ selection: copy.selection, reason: messageOf(err) }, 'clipboard change not synced');
      if (copy.files !== undefined && copy.selection === 'clipboard') {
        // A file manager copied files here: they travel as a files clip, not as their URIs.
        void copyFilesLocally(sync, copy.files.paths, { maxEntries: setup.config.maxFileEntries, maxBytes: setup.config.maxClipBytes }, 'clipboard', log, copy.files.cut).catch(failed);
        return;
      }
      const clip = assembleClip(copy.formats);
      void sync.copyLocal({ data: clip.data }, clip.formats, 'clipboard', { sensitive: copy.sensitive }).catch(failed);
    },
    () => {
      for (const selection of selections) {
        void engineFor(selection)
          .restoreToClipboard()
          .catch((err: unknown) => log.warn({ selection, reason: messageOf(err) }, 'cannot offer the current clip again'));
      }
    },
    componentLogger(setup.root, 'clipboard'),
    setup.config.pollIntervalMs,
  );
}
