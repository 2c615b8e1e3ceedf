import { componentLogger } from '../core/log.js';
import type { ClipboardBackend } from '../clipboard/backend.js';
import { clipboardPort } from '../clipboard/clipboard-port.js';
import type { ClipboardWatcher } from '../clipboard/watcher.js';
import type { PeerSession } from '../sync/ports.js';
import { selectionChannel, type SyncedSelection } from '../sync/selection-channel.js';
import { SyncEngine } from '../sync/sync-engine.js';
import type { TransferBoard } from '../sync/transfer-board.js';
import type { DaemonSetup } from './daemon-setup.js';
import type { SpoolService } from './spool-service.js';
import type { SyncControls } from './sync-controls.js';

/** How long `copy --wait` waits for a peer that dropped mid-transfer to come back. */
const DELIVERY_GRACE_MS = 30_000;

export interface SyncEngines {
  /** CLIPBOARD: what copy, paste, status and the control socket work with. */
  clipboard: SyncEngine;
  /** PRIMARY, with config `primary`; undefined otherwise. */
  primary: SyncEngine | undefined;
  /** Every authenticated peer session, to each engine through its own view of the channel. */
  attach(session: PeerSession): void;
  shutdown(): Promise<void>;
}

/**
 * One sync engine per synced selection, sharing the peer connections, the spool and the
 * transfer board: PRIMARY changes with every selection of text, and on an engine of its own it
 * never cancels or delays a CLIPBOARD transfer.
 */
export function buildSyncEngines(
  setup: DaemonSetup,
  backend: ClipboardBackend,
  spool: SpoolService,
  transfers: TransferBoard,
  watcher: () => ClipboardWatcher | undefined,
  controls?: Pick<SyncControls, 'gate' | 'remember'>,
): SyncEngines {
  const { config, identity, root } = setup;
  const engine = (selection: SyncedSelection): SyncEngine => {
    const sync: SyncEngine = new SyncEngine({
      ownFingerprint: identity.publicKey.fingerprint,
      clipboard: clipboardPort(backend, watcher, (id) => sync.fetch(id), selection),
      maxClipBytes: config.maxClipBytes,
      windowBytes: config.transferWindowBytes,
      spoolThresholdBytes: config.spoolThresholdBytes,
      eagerLimitBytes: config.eagerLimitBytes,
      spool: selection === 'clipboard' ? spool.port : spool.newPort(),
      deliveryGraceMs: DELIVERY_GRACE_MS,
      transfers,
      gate: controls?.gate,
      // The history is of CLIPBOARD: PRIMARY changes with every selection of text.
      ...(selection === 'clipboard' && controls !== undefined ? { onClip: (clip, from) => controls.remember(clip, from) } : {}),
      log: selection === 'clipboard' ? componentLogger(root, 'sync') : componentLogger(root, 'sync').child({ selection }),
    });
    return sync;
  };
  const clipboard = engine('clipboard');
  const primary = config.primary ? engine('primary') : undefined;
  return {
    clipboard,
    primary,
    attach(session) {
      clipboard.attach({ ...session, channel: selectionChannel(session.channel, 'clipboard') });
      primary?.attach({ ...session, channel: selectionChannel(session.channel, 'primary') });
    },
    async shutdown() {
      await Promise.all([clipboard.shutdown(), primary?.shutdown()]);
    },
  };
}
