import type { ClipboardBackend } from '../clipboard/backend.js';
import type { WatcherStats } from '../clipboard/watcher.js';
import type { DaemonView } from '../ipc/routes.js';
import type { SpoolPort } from '../sync/ports.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { TransferBoard } from '../sync/transfer-board.js';
import { formatAddress } from '../transport/address.js';
import type { Listener } from '../transport/listener.js';
import { VERSION } from '../core/version.js';
import type { DaemonEvents } from '../ipc/daemon-events.js';
import type { DaemonSetup } from './daemon-setup.js';
import type { DiscoveryService } from './discovery-service.js';
import type { PeerServices } from './peer-services.js';
import type { ConfigReloader } from './config-reload.js';
import type { SyncControls } from './sync-controls.js';

export interface ControlParts {
  setup: DaemonSetup;
  backend: ClipboardBackend;
  sync: SyncEngine;
  network: PeerServices;
  transfers: TransferBoard;
  spool: SpoolPort;
  /** Filled in as they bind. */
  listeners: readonly Listener[];
  discovery: () => DiscoveryService | undefined;
  /** The clipboard watcher's counts, once it runs. */
  clipboardStats: () => WatcherStats | undefined;
  controls: SyncControls;
  config: ConfigReloader;
  events: DaemonEvents;
  stop: () => void;
}

/** The daemon as the control socket sees it: `status`, and the parts its routes use. */
export function controlView(parts: ControlParts): DaemonView {
  const { setup, backend, sync, network, transfers, spool, listeners, discovery, controls } = parts;
  const { config, identity } = setup;
  const live = parts.config;
  const startedAt = new Date();
  /** off (--no-mdns), running, or disabled (no link can multicast). */
  const mdnsState = (): 'off' | 'running' | 'disabled' => {
    if (!config.mdns) return 'off';
    const running = discovery();
    if (running === undefined) return 'disabled';
    return running.discovery.state === 'running' ? 'running' : 'disabled';
  };
  return {
    peers: network.peers,
    events: parts.events,
    pairing: network.pairing,
    sync,
    watcher: undefined,
    get maxClipBytes() {
      return live.current().maxClipBytes;
    },
    get maxFileEntries() {
      return live.current().maxFileEntries;
    },
    spoolThresholdBytes: config.spoolThresholdBytes,
    store: spool,
    transfers,
    status: () => ({
      running: true,
      pid: process.pid,
      version: VERSION,
      name: config.name,
      fingerprint: identity.publicKey.fingerprint,
      publicKey: identity.publicKey.toLine(config.name),
      listen: listeners.map((l) => formatAddress(l.address)),
      clipboard: backend.kind === 'memory' ? 'memory' : 'system',
      clipboardBackend: backend.kind,
      clipboardReason: backend.reason,
      sensitiveSkipped: parts.clipboardStats()?.sensitiveSkipped ?? 0,
      mdns: mdnsState(),
      startedAt: startedAt.toISOString(),
      paused: controls.pause.info(),
    }),
    reloadTrust: () => network.reloadTrust(),
    pause: controls.pause,
    history: controls.history,
    rulesOf: controls.rulesOf,
    reloadConfig: () => live.reload('request'),
    stop: parts.stop,
  };
}
