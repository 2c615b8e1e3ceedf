import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { Spool } from '../spool/spool.js';
import { spoolPort } from '../spool/spool-port.js';
import { cleanupReceived } from '../spool/received-files.js';
import { PLATFORM_FOLDS_CASE } from '../files/manifest.js';
import type { SpoolPort } from '../sync/ports.js';
import type { DaemonSetup } from './daemon-setup.js';

/** An incoming spooled clip is synced to disk this often: what a crash costs to receive again. */
const SPOOL_CHECKPOINT_BYTES = 8 * 1024 * 1024;
const SPOOL_CLEANUP_MS = 10 * 60 * 1000;

export interface SpoolService {
  port: SpoolPort;
  /** Another port with pins of its own: for a second engine (PRIMARY) holding its own current clip. */
  newPort(): SpoolPort;
  /** Cleans up now and every ten minutes after (age and size limits). */
  startCleanup(): void;
  stop(): void;
}

/** The spool of large clips, its port for sync and the copy route, and its periodic clean-up. */
export async function openSpool({ paths, config }: DaemonSetup, log: Logger): Promise<SpoolService> {
  const spool = await Spool.open(paths.spoolDir, {
    maxTotalBytes: config.spoolMaxBytes,
    maxAgeMs: config.spoolMaxAgeMs,
    thresholdBytes: config.spoolThresholdBytes,
    checkpointEveryBytes: SPOOL_CHECKPOINT_BYTES,
  });
  const clean = (): void => {
    spool.cleanup().then(
      (plan) => {
        if (plan.remove.length > 0) log.info({ removed: plan.remove.length }, 'spool cleaned up');
        else log.debug('spool clean-up found nothing to remove');
      },
      (err: unknown) => log.warn({ reason: messageOf(err) }, 'spool clean-up failed'),
    );
    // Received files by the same rules, their pins held in the same spool (by clip id).
    cleanupReceived(config.filesDir, { now: Date.now(), maxAgeMs: config.spoolMaxAgeMs, maxTotalBytes: config.spoolMaxBytes, isPinned: (id) => spool.isPinned(id) }).then(
      (plan) => {
        if (plan.remove.length > 0) log.info({ removed: plan.remove.length, dir: config.filesDir }, 'received files cleaned up');
      },
      (err: unknown) => log.warn({ reason: messageOf(err), dir: config.filesDir }, 'clean-up of received files failed'),
    );
  };
  const files = { dir: config.filesDir, limits: () => ({ maxEntries: config.maxFileEntries, foldsCase: PLATFORM_FOLDS_CASE }) };
  const copyFailed = (path: string, err: unknown): void => log.warn({ path, reason: messageOf(err) }, 'a copied file could not be kept; its clip cannot be pasted here');
  let timer: NodeJS.Timeout | undefined;
  return {
    port: spoolPort(spool, copyFailed, files),
    newPort: () => spoolPort(spool, copyFailed, files),
    startCleanup: () => {
      timer = setInterval(clean, SPOOL_CLEANUP_MS);
      timer.unref();
      clean();
    },
    stop: () => clearInterval(timer),
  };
}
