import { unlink, writeFile } from 'node:fs/promises';
import { selectBackend } from '../clipboard/select-backend.js';
import type { ClipboardWatcher } from '../clipboard/watcher.js';
import type { Paths } from '../core/config/paths.js';
import { componentLogger, type Logger } from '../core/log.js';
import { VERSION } from '../core/version.js';
import { IpcServer } from '../ipc/server.js';
import { buildRoutes } from '../ipc/routes.js';
import { NetworkWatch } from '../peers/network-watch.js';
import { TransferBoard } from '../sync/transfer-board.js';
import { formatAddress, parseAddress } from '../transport/address.js';
import { listen, type Listener } from '../transport/listener.js';
import { controlView } from './control-view.js';
import { loadSetup, type DaemonFlags } from './daemon-setup.js';
import type { DiscoveryService } from './discovery-service.js';
import { buildPeerServices } from './peer-services.js';
import { openSpool } from './spool-service.js';
import { clipboardWatcher, formatPolicy, formatPolicyOptions } from './clipboard-service.js';
import { configReloader } from './config-reload.js';
import { buildSyncControls } from './sync-controls.js';
import { followDaemon } from './daemon-follow.js';
import { notifyDesktop } from './notifier.js';
import { stopWithParent } from './parent-watch.js';
import { buildSyncEngines } from './sync-service.js';

export type { DaemonFlags } from './daemon-setup.js';

/** The network watch looks this often; a tick this much late means the machine slept. */
const NETWORK_POLL_MS = 2000;
const WAKE_GAP_MS = 10_000;

/**
 * The composition root: builds every part, starts them in order (control socket first, so a
 * second daemon on the same home is refused before it binds any port), and stops them in the
 * order `stop` below gives. Resolves when the daemon has stopped.
 */
export async function runDaemon(paths: Paths, flags: DaemonFlags, root: Logger): Promise<void> {
  const log = componentLogger(root, 'daemon');
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  // Caught from the start, not only from `daemon ready` on: whoever reads that line may signal at
  // once, before the next statement runs (it did, about one time in five, on a busy 2-core
  // machine), and a SIGTERM during start-up should still end in a clean stop, not node's default
  // (killed, socket and pid file left behind).
  stopOnSignals(log, requestStop);
  const setup = await loadSetup(paths, flags, root);
  const { config, identity } = setup;

  // Build: nothing listens or dials yet.
  const backend = await selectBackend({
    choice: config.clipboard,
    env: process.env,
    platform: process.platform,
    timeoutMs: config.clipboardTimeoutMs,
    primary: config.primary,
    log: componentLogger(root, 'clipboard'),
  });
  const spool = await openSpool(setup, log);
  const transfers = new TransferBoard();
  let watcher: ClipboardWatcher | undefined;
  const controls = buildSyncControls(setup, spool);
  await controls.start();
  const engines = buildSyncEngines(setup, backend, spool, transfers, () => watcher, controls);
  const sync = engines.clipboard;
  const network = buildPeerServices(setup, engines, controls.learnTrustName);
  network.watchTrust();
  const policy = formatPolicy(setup);
  // Live config: what can change while running does so here; the rest waits for a restart.
  const liveConfig = configReloader(setup, (next, changed) => {
    setup.config = next;
    controls.applyConfig(next);
    policy.update(formatPolicyOptions(next));
    for (const engine of [engines.clipboard, engines.primary]) engine?.setLimits({ maxClipBytes: next.maxClipBytes, eagerLimitBytes: next.eagerLimitBytes });
    if (changed.includes('peers')) {
      const known = new Set(network.peers.list().map((p) => p.address));
      for (const address of next.peers.map(parseAddress)) if (!known.has(formatAddress(address))) network.peers.addStaticPeer(address);
    }
  });
  const listeners: Listener[] = [];
  let discovery: DiscoveryService | undefined;
  const events = followDaemon(network, controls, transfers, () => setup.config.eagerLimitBytes);
  const stopNotifying = notifyDesktop(events, () => setup.config.notify, componentLogger(root, 'notify'));
  const view = controlView({
    setup,
    backend,
    sync,
    network,
    transfers,
    spool: spool.port,
    listeners,
    discovery: () => discovery,
    clipboardStats: () => watcher?.stats,
    controls,
    config: liveConfig,
    events,
    stop: () => requestStop(),
  });

  // Start: the control socket, then the listeners and the clipboard (undone if either fails).
  const ipc = new IpcServer(paths.socketPath, buildRoutes(view), componentLogger(root, 'ipc'));
  await ipc.listen();
  try {
    for (const address of config.listen.map(parseAddress)) listeners.push(await listen(address, (socket, remote) => network.peers.acceptInbound(socket, remote)));
    // Made before it starts, so a clip received meanwhile is already noted as our own write.
    watcher = clipboardWatcher(setup, backend, engines, log, policy);
    await watcher?.start();
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await ipc.close();
    throw err;
  }
  if (watcher !== undefined) watcher.onSensitive = () => events.notice({ kind: 'sensitive', message: 'a copy marked secret by a password manager stayed on this machine (not sent, not kept)' });
  view.watcher = watcher;
  for (const address of config.peers.map(parseAddress)) network.peers.addStaticPeer(address);
  if (config.mdns) {
    // Loaded only when on: bonjour-service and the discovery code are not needed without it.
    const { startDiscovery } = await import('./discovery-service.js');
    discovery = await startDiscovery(setup, listeners, network.peers);
    const { dialer } = discovery;
    network.onTrustChanged(() => dialer.recheck());
  }
  // Followed before `daemon ready`: a change written right after it is never missed.
  liveConfig.watch();
  await writeFile(paths.pidFile, `${process.pid}\n`, { mode: 0o600 }).catch(() => undefined);
  log.info(
    {
      name: config.name,
      fingerprint: identity.publicKey.fingerprint,
      listen: listeners.map((l) => formatAddress(l.address)),
      peers: config.peers,
      clipboard: backend.kind,
      clipboardReason: backend.reason,
      socket: paths.socketPath,
      version: VERSION,
    },
    'daemon ready',
  );
  const unwatchParent = stopWithParent(process.env, () => {
    log.info({ parent: 'npm start' }, 'the process that started the daemon is gone: stopping');
    requestStop();
  });
  const networkWatch = new NetworkWatch({
    intervalMs: NETWORK_POLL_MS,
    wakeGapMs: WAKE_GAP_MS,
    onChange: (reason) => network.peers.networkChanged(reason === 'wake' ? 'woke from sleep' : 'network addresses changed'),
    // With no peers there is nothing a sleep or a new address could break: no wake-ups.
    needed: () => network.peers.isActive(),
  });
  network.peers.whenActive(() => networkWatch.resume());
  networkWatch.start();
  spool.startCleanup();

  await stopRequested;
  // Stop: no new work, goodbyes to peers (1001), partial transfers kept on disk for a resume,
  // then the sockets; the control socket last, so `stop` sees it through.
  unwatchParent();
  stopNotifying();
  networkWatch.stop();
  liveConfig.stop();
  spool.stop();
  network.unwatchTrust();
  await watcher?.stop(); // hands an owned clip to a clipboard manager, where there is one
  if (watcher === undefined) await backend.stop();
  await discovery?.discovery.stop(); // goodbye packets: peers stop dialing us at once
  await network.stop();
  await engines.shutdown();
  await controls.stop();
  await Promise.all(listeners.map((l) => l.close()));
  await ipc.close();
  await unlink(paths.pidFile).catch(() => undefined);
  log.info('daemon stopped');
}

/** SIGTERM or SIGINT stop the daemon; a second one means "now", without waiting for goodbyes. */
function stopOnSignals(log: Logger, requestStop: () => void): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping');
    requestStop();
    process.once(signal, () => process.exit(130));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
