import { loadConfig, updateConfigFile } from '../core/config/config.js';
import { messageOf } from '../core/errors.js';
import { componentLogger } from '../core/log.js';
import { OwnTrustFile } from '../identity/own-trust-file.js';
import { PairingManager } from '../pairing/pairing-manager.js';
import { PeerManager } from '../peers/peer-manager.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { DaemonSetup } from './daemon-setup.js';

export interface PeerServices {
  peers: PeerManager;
  pairing: PairingManager;
  /** Re-checks every live connection against the trust files; returns how many were closed. */
  reloadTrust(): Promise<number>;
  /** Also run after each trust change (discovery re-checks which sightings to dial). */
  onTrustChanged(hook: () => Promise<void>): void;
  /** Watches the trust files: a key removed behind clipsync's back loses its connection too. */
  watchTrust(): void;
  unwatchTrust(): void;
  /** Ends pairing requests and says goodbye to every peer (1001). */
  stop(): Promise<void>;
}

/**
 * The peer table and pairing, wired to the trusted keys and to sync: every connection that
 * survives authentication goes to sync, pairing connections to pairing and never to sync (no
 * clip may flow before trust), and a trust change takes effect at once.
 */
export function buildPeerServices(setup: DaemonSetup, sync: Pick<SyncEngine, 'attach'>, onTrusted: (fingerprint: string, name: string) => void = () => undefined): PeerServices {
  const { config, identity, trust, paths, root } = setup;
  const log = componentLogger(root, 'daemon');
  const isTrusted = async (fp: string): Promise<boolean> => (await trust.find(fp)) !== undefined;
  const peers = new PeerManager({
    ownFingerprint: identity.publicKey.fingerprint,
    handshake: {
      identity,
      name: config.name,
      checkTrust: async (key) => {
        const entry = await trust.find(key.fingerprint);
        if (entry !== undefined) onTrusted(key.fingerprint, entry.name); // the name per-peer rules may be keyed by
        return entry === undefined ? undefined : { name: entry.name };
      },
      admitPairing: (peer) => pairing.admit(peer),
    },
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    backoff: { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs, random: Math.random },
    log: componentLogger(root, 'peers'),
    onSession: (connection, peer) => sync.attach({ fingerprint: peer.peerKey.fingerprint, name: peer.peerName, channel: connection }),
    onPairing: (connection, peer) => pairing.onInbound(connection, peer),
    trustedName: async (fp) => (await trust.find(fp))?.name,
  });
  let afterTrustChange: () => Promise<void> = async () => undefined;
  const reloadTrust = async (): Promise<number> => {
    const closed = await peers.revalidate(isTrusted);
    peers.trustChanged();
    await afterTrustChange();
    return closed;
  };
  const ownTrustFile = new OwnTrustFile(paths.trustFile);
  const pairing = new PairingManager({
    ownKey: identity.publicKey,
    peers,
    isTrusted,
    // The same store and the same live re-check as `clipsync trust`.
    trust: async (key, name) => {
      await ownTrustFile.add([{ key, name }]);
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
  let stopWatching: () => void = () => undefined;
  return {
    peers,
    pairing,
    reloadTrust,
    onTrustChanged: (hook) => {
      afterTrustChange = hook;
    },
    watchTrust: () => {
      stopWatching = trust.watch(() => {
        reloadTrust().catch((err: unknown) => log.warn({ reason: messageOf(err) }, 'trust re-check failed'));
      });
    },
    unwatchTrust: () => stopWatching(),
    stop: async () => {
      pairing.stop();
      await peers.stop();
    },
  };
}
