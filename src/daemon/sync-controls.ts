import type { Config } from '../core/config/config.js';
import { rulesFor, type EffectiveRules } from '../core/config/peer-rules.js';
import { messageOf } from '../core/errors.js';
import { componentLogger } from '../core/log.js';
import { ClipHistory } from '../sync/clip-history.js';
import { PauseState } from '../sync/pause-state.js';
import type { PeerRef, SyncGate } from '../sync/sync-gate.js';
import type { Clip } from '../sync/clip.js';
import type { DaemonSetup } from './daemon-setup.js';
import { loadHistory, removeHistory, saveHistory } from './history-file.js';
import type { SpoolService } from './spool-service.js';

/** A change is written to the history file this long after the last one: a burst of copies is one write. */
const HISTORY_SAVE_DELAY_MS = 500;

/**
 * What the user controls about syncing while the daemon runs: the pause, the clip history
 * and the per-peer rules (as the gate the sync engines ask). Config changes reach them
 * through `applyConfig`.
 */
export interface SyncControls {
  pause: PauseState;
  history: ClipHistory;
  gate: SyncGate;
  /** A peer's rules as `peers` shows them: by fingerprint, else by its trust-store name. */
  rulesOf(fingerprint: string | null, name: string | null): EffectiveRules;
  /** Adds a clip to the history: from a peer (named as in the trust store), or copied here (null). */
  remember(clip: Clip, from: PeerRef | null): void;
  /** The handshake found this key in the trust store under `name`: what rules by name match. */
  learnTrustName(fingerprint: string, name: string): void;
  /** Reads the history file back (with `history.persist`), or removes a stale one. */
  start(): Promise<void>;
  applyConfig(config: Config): void;
  /** Writes what is pending and stops the timers. */
  stop(): Promise<void>;
}

export function buildSyncControls(setup: DaemonSetup, spool: SpoolService): SyncControls {
  const log = componentLogger(setup.root, 'daemon');
  let config = setup.config;
  const pause = new PauseState();
  const history = new ClipHistory(config.history.size, spool.newPort(), log);
  const trustNames = new Map<string, string>();
  const rulesOf = (fingerprint: string | null, name: string | null): EffectiveRules =>
    rulesFor(config.peerRules, fingerprint, (fingerprint !== null ? trustNames.get(fingerprint) : undefined) ?? name);
  const gate: SyncGate = {
    pausedReason: () => (pause.paused ? 'paused' : undefined),
    rules: (peer) => rulesOf(peer.fingerprint, null),
  };
  pause.onChange((info) => log.info({ paused: info }, info === null ? 'sync resumed' : 'sync paused'));

  // With `history.persist`, every change is written (after a short delay); the last write is awaited at stop.
  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  const save = (): void => {
    saveTimer = undefined;
    const path = setup.paths.historyFile;
    const entries = [...history.all()];
    saving = saving
      .then(() => (config.history.persist ? saveHistory(path, entries) : removeHistory(path)))
      .catch((err: unknown) => log.warn({ file: path, reason: messageOf(err) }, 'cannot write the history file'));
  };
  const scheduleSave = (): void => {
    if (saveTimer !== undefined) return;
    saveTimer = setTimeout(save, HISTORY_SAVE_DELAY_MS);
    saveTimer.unref();
  };
  history.onChange(() => {
    if (config.history.persist) scheduleSave();
  });

  return {
    pause,
    history,
    gate,
    rulesOf,
    learnTrustName: (fingerprint, name) => void trustNames.set(fingerprint, name),
    remember: (clip, from) => history.record(clip, from === null ? null : (trustNames.get(from.fingerprint) ?? from.name)),
    async start() {
      if (config.history.persist) {
        const entries = await loadHistory(setup.paths.historyFile, log);
        if (entries.length > 0) history.restore(entries);
        log.debug({ clips: history.all().length }, 'history read back');
      } else await removeHistory(setup.paths.historyFile);
    },
    applyConfig(next) {
      const persistChanged = next.history.persist !== config.history.persist;
      config = next;
      history.resize(next.history.size);
      if (persistChanged) scheduleSave(); // written now, or removed when persist was turned off
    },
    async stop() {
      pause.stop();
      if (saveTimer !== undefined) {
        clearTimeout(saveTimer);
        save();
      }
      await saving;
    },
  };
}
