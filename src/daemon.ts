import { writeFile, unlink } from 'node:fs/promises';
import { loadConfig, updateConfigFile, type ClipboardChoice, type Config } from './core/config/config.js';
import type { Paths } from './core/config/paths.js';
import { selectBackend } from './clipboard/select-backend.js';
import { ClipboardWatcher } from './clipboard/watcher.js';
import { clipboardPort } from './clipboard/clipboard-port.js';
import { messageOf } from './core/errors.js';
import { initHome, loadConfiguredIdentity } from './identity/setup.js';
import { TrustedKeys } from './identity/trusted-keys.js';
import { OwnTrustFile } from './identity/own-trust-file.js';
import { PairingManager } from './pairing/pairing-manager.js';
import { buildRoutes, type DaemonView } from './ipc/routes.js';
import { IpcServer } from './ipc/server.js';
import { componentLogger, type Logger } from './core/log.js';
import { NetworkWatch } from './peers/network-watch.js';
import { DiscoveryDialer } from './peers/discovery-dialer.js';
import { Discovery } from './discovery/mdns.js';
import { PROTOCOL_VERSION } from './secure/handshake.js';
import { stopHashThread } from './content/hash-thread.js';
import type { PublicKey } from './identity/public-key.js';
import { PeerManager } from './peers/peer-manager.js';
import { SyncEngine } from './sync/sync-engine.js';
import { TransferBoard } from './sync/transfer-board.js';
import { Spool } from './spool/spool.js';
import { spoolPort } from './spool/spool-port.js';
import { formatAddress, parseAddress } from './transport/address.js';
import { listen, type Listener } from './transport/listener.js';
import { VERSION } from './core/version.js';

/** Command-line choices that override config.json for this run. */
export interface DaemonFlags {
  listen?: string[];
  peers?: string[];
  mdns?: boolean;
  mdnsInterfaces?: string[];
  clipboard?: ClipboardChoice;
}

/** The network watch looks this often; a tick this much late means the machine slept. */
const NETWORK_POLL_MS = 2000;
const WAKE_GAP_MS = 10_000;
/** An incoming spooled clip is synced to disk this often: what a crash costs to receive again. */
const SPOOL_CHECKPOINT_BYTES = 8 * 1024 * 1024;
const SPOOL_CLEANUP_MS = 10 * 60 * 1000;
/** How long `copy --wait` waits for a peer that dropped mid-transfer to come back and finish. */
const DELIVERY_GRACE_MS = 30_000;

/**
 * The composition root: builds every component, starts them in order (control socket first,
 * so a second daemon on the same home is refused before it binds any port), and stops them
 * in reverse. Resolves when the daemon has stopped.
 */
export async function runDaemon(paths: Paths, flags: DaemonFlags, root: Logger): Promise<void> {
  const log = componentLogger(root, 'daemon');
  const home = await initHome(paths);
  const config = applyFlags(home.config, flags);
  const listenAddresses = config.listen.map(parseAddress);
  const peerAddresses = config.peers.map(parseAddress);
  const identity = await loadConfiguredIdentity(config);
  const { created, source } = home;
  if (created) log.info({ fingerprint: identity.publicKey.fingerprint, source }, 'created a new identity');
  const trust = new TrustedKeys(paths.trustFile, config.trustFiles, componentLogger(root, 'trust'));
  log.info({ trusted: await trust.count(), files: [paths.trustFile, ...config.trustFiles] }, 'trust loaded');

  let stopRequested: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));

  const backend = await selectBackend(config.clipboard, componentLogger(root, 'clipboard'));
  const spool = await Spool.open(paths.spoolDir, {
    maxTotalBytes: config.spoolMaxBytes,
    maxAgeMs: config.spoolMaxAgeMs,
    thresholdBytes: config.spoolThresholdBytes,
    checkpointEveryBytes: SPOOL_CHECKPOINT_BYTES,
  });
  const spoolAccess = spoolPort(spool);
  const cleanSpool = (): void => {
    spool.cleanup().then(
      (plan) => {
        if (plan.remove.length > 0) log.info({ removed: plan.remove.length }, 'spool cleaned up');
      },
      (err: unknown) => log.warn({ reason: messageOf(err) }, 'spool clean-up failed'),
    );
  };
  const spoolCleanupTimer = setInterval(cleanSpool, SPOOL_CLEANUP_MS);
  spoolCleanupTimer.unref();
  const transfers = new TransferBoard();
  const sync = new SyncEngine({
    ownFingerprint: identity.publicKey.fingerprint,
    clipboard: clipboardPort(backend, () => watcher),
    maxClipBytes: config.maxClipBytes,
    windowBytes: config.transferWindowBytes,
    spoolThresholdBytes: config.spoolThresholdBytes,
    spool: spoolAccess,
    deliveryGraceMs: DELIVERY_GRACE_MS,
    transfers,
    log: componentLogger(root, 'sync'),
  });
  const peers = new PeerManager({
    ownFingerprint: identity.publicKey.fingerprint,
    handshake: {
      identity,
      name: config.name,
      checkTrust: async (key) => {
        const entry = await trust.find(key.fingerprint);
        return entry === undefined ? undefined : { name: entry.name };
      },
      admitPairing: (peer) => pairing.admit(peer),
    },
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    backoff: { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs, random: Math.random },
    log: componentLogger(root, 'peers'),
    onSession: (connection, peer) =>
      sync.attach({ fingerprint: peer.peerKey.fingerprint, name: peer.peerName, channel: connection }),
    // Pairing connections go to pairing, never to sync: no clip may flow before trust.
    onPairing: (connection, peer) => pairing.onInbound(connection, peer),
  });

  // Trust changes take effect at once: a key that is no longer trusted loses its connection.
  let onTrustChanged: () => Promise<void> = async () => undefined;
  const reloadTrust = async (): Promise<number> => {
    const closed = await peers.revalidate(async (fp) => (await trust.find(fp)) !== undefined);
    await onTrustChanged();
    return closed;
  };
  const stopWatchingTrust = trust.watch(() => {
    reloadTrust().catch((err: unknown) => log.warn({ reason: messageOf(err) }, 'trust re-check failed'));
  });
  const trustStore = new OwnTrustFile(paths.trustFile);
  const pairing = new PairingManager({
    ownKey: identity.publicKey,
    peers,
    isTrusted: async (fp) => (await trust.find(fp)) !== undefined,
    // The same store and the same live re-check as `clipsync trust`.
    trust: async (key, name) => {
      await trustStore.add([{ key, name }]);
      await reloadTrust();
    },
    rememberAddress: async (address) => {
      const onDisk = await loadConfig(paths);
      if (onDisk.peers.includes(address) || config.peers.includes(address)) return;
      await updateConfigFile(paths, { peers: [...onDisk.peers, address] });
      log.info({ address, file: paths.configFile }, 'paired address added to peers in config.json');
    },
    timeoutMs: config.pairingTimeoutMs,
    log: componentLogger(root, 'pairing'),
  });
  const listeners: Listener[] = [];
  const startedAt = new Date();
  /** For `status`: off (--no-mdns), running, or disabled (no link can multicast). */
  let mdnsState = (): 'off' | 'running' | 'disabled' => (config.mdns ? 'disabled' : 'off');
  const view: DaemonView = {
      peers,
      pairing,
      sync,
      watcher: undefined,
      maxClipBytes: config.maxClipBytes,
      spoolThresholdBytes: config.spoolThresholdBytes,
      store: spoolAccess,
      transfers,
      status: () => ({
        running: true,
        pid: process.pid,
        version: VERSION,
        name: config.name,
        fingerprint: identity.publicKey.fingerprint,
        publicKey: identity.publicKey.toLine(config.name),
        listen: listeners.map((l) => formatAddress(l.address)),
        clipboard: backend.kind,
        mdns: mdnsState(),
        startedAt: startedAt.toISOString(),
      }),
      reloadTrust,
      stop: () => stopRequested(),
  };
  const ipc = new IpcServer(paths.socketPath, buildRoutes(view), componentLogger(root, 'ipc'));
  await ipc.listen();

  let watcher: ClipboardWatcher | undefined;
  try {
    for (const address of listenAddresses) {
      listeners.push(await listen(address, (socket, remote) => peers.acceptInbound(socket, remote)));
    }
    if (backend.kind === 'system') {
      watcher = new ClipboardWatcher(
        backend,
        config.pollIntervalMs,
        (content, initial) => {
          if (initial) sync.adoptInitial(content);
          else void sync.copyLocal({ data: content.data }, content.mime, 'clipboard').catch((err: unknown) => log.warn({ reason: messageOf(err) }, 'clipboard change not synced'));
        },
        componentLogger(root, 'clipboard'),
      );
      await watcher.start();
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await ipc.close();
    throw err;
  }
  view.watcher = watcher;
  for (const address of peerAddresses) peers.addStaticPeer(address);
  const discovery = config.mdns ? await startDiscovery(config, identity.publicKey, listeners, peers, trust, root) : undefined;
  mdnsState = () => (discovery === undefined ? 'off' : discovery.discovery.state === 'running' ? 'running' : 'disabled');
  if (discovery !== undefined) onTrustChanged = () => discovery.link.recheck();
  await writeFile(paths.pidFile, `${process.pid}\n`, { mode: 0o600 }).catch(() => undefined);

  log.info(
    {
      name: config.name,
      fingerprint: identity.publicKey.fingerprint,
      listen: listeners.map((l) => formatAddress(l.address)),
      peers: config.peers,
      clipboard: backend.kind,
      socket: paths.socketPath,
      version: VERSION,
    },
    'daemon ready',
  );

  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping');
    stopRequested();
    // A second signal means "now": do not wait for peers to say goodbye.
    process.once(signal, () => process.exit(130));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const networkWatch = new NetworkWatch({
    intervalMs: NETWORK_POLL_MS,
    wakeGapMs: WAKE_GAP_MS,
    onChange: (reason) => peers.networkChanged(reason === 'wake' ? 'woke from sleep' : 'network addresses changed'),
  });
  networkWatch.start();
  cleanSpool();

  await stopped;
  // Shutdown order: no new work, goodbyes to peers (1001), partial transfers kept on disk
  // for a resume, then the sockets; the control socket last, so `stop` sees it through.
  networkWatch.stop();
  clearInterval(spoolCleanupTimer);
  stopWatchingTrust();
  watcher?.stop();
  await discovery?.discovery.stop(); // goodbye packets: peers stop dialing us at once
  pairing.stop();
  await peers.stop();
  await sync.shutdown();
  await stopHashThread(); // after the transfers were suspended: none is hashing any more
  await Promise.all(listeners.map((l) => l.close()));
  await ipc.close();
  await unlink(paths.pidFile).catch(() => undefined);
  log.info('daemon stopped');
}

/**
 * mDNS: announce the first TCP listener's port (none: browse only, e.g. a box reached only
 * through a forwarded Unix socket) and dial trusted peers as they appear. A machine where
 * multicast does not work gets a warning from Discovery and keeps its static peers.
 */
async function startDiscovery(
  config: Config,
  publicKey: PublicKey,
  listeners: Listener[],
  peers: PeerManager,
  trust: TrustedKeys,
  root: Logger,
): Promise<{ discovery: Discovery; link: DiscoveryDialer }> {
  const tcp = listeners.map((l) => l.address).find((a) => a.kind === 'tcp');
  const discovery = new Discovery({
    publicKey,
    name: config.name,
    protocolVersion: PROTOCOL_VERSION,
    port: tcp?.kind === 'tcp' ? tcp.port : undefined,
    interfaces: config.mdnsInterfaces,
    log: root,
  });
  const link = new DiscoveryDialer(discovery, peers, async (fp) => (await trust.find(fp)) !== undefined, componentLogger(root, 'peers'));
  await discovery.start();
  return { discovery, link };
}

function applyFlags(config: Config, flags: DaemonFlags): Config {
  return {
    ...config,
    listen: flags.listen !== undefined && flags.listen.length > 0 ? flags.listen : config.listen,
    peers: [...config.peers, ...(flags.peers ?? [])],
    mdns: flags.mdns ?? config.mdns,
    mdnsInterfaces: flags.mdnsInterfaces !== undefined && flags.mdnsInterfaces.length > 0 ? flags.mdnsInterfaces : config.mdnsInterfaces,
    clipboard: flags.clipboard ?? config.clipboard,
  };
}

