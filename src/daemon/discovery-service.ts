import { componentLogger } from '../core/log.js';
import { Discovery } from '../discovery/mdns.js';
import { DiscoveryDialer } from '../peers/discovery-dialer.js';
import type { PeerManager } from '../peers/peer-manager.js';
import { PROTOCOL_VERSION } from '../secure/handshake.js';
import type { Listener } from '../transport/listener.js';
import type { DaemonSetup } from './daemon-setup.js';

export interface DiscoveryService {
  discovery: Discovery;
  dialer: DiscoveryDialer;
}

/**
 * mDNS: announce the first TCP listener's port (none: browse only, e.g. a box reached only
 * through a forwarded Unix socket) and dial trusted peers as they appear. A machine where
 * multicast does not work gets a warning from Discovery and keeps its static peers.
 */
export async function startDiscovery({ config, identity, trust, root }: DaemonSetup, listeners: Listener[], peers: PeerManager): Promise<DiscoveryService> {
  const tcp = listeners.map((l) => l.address).find((a) => a.kind === 'tcp');
  const discovery = new Discovery({
    publicKey: identity.publicKey,
    name: config.name,
    protocolVersion: PROTOCOL_VERSION,
    port: tcp?.kind === 'tcp' ? tcp.port : undefined,
    interfaces: config.mdnsInterfaces,
    log: root,
  });
  const dialer = new DiscoveryDialer(discovery, peers, async (fp) => (await trust.find(fp)) !== undefined, componentLogger(root, 'peers'));
  await discovery.start();
  return { discovery, dialer };
}
