import type { DiscoveredPeer, Discovery } from '../discovery/mdns.js';
import type { Logger } from '../core/log.js';
import type { Address } from '../transport/address.js';
import { formatAddress } from '../transport/address.js';
import type { PeerManager } from './peer-manager.js';

/**
 * Turns what mDNS sees into what the peer table does: a trusted key is dialed at the
 * address it announces (at once, and again when it moves); an untrusted one is only listed,
 * as `untrusted`, so the user can pair with it; a peer that leaves stops being dialed.
 * Announcements are hints: the handshake still proves every key.
 */
export class DiscoveryDialer {
  constructor(
    private readonly discovery: Discovery,
    private readonly peers: PeerManager,
    private readonly isTrusted: (fingerprint: string) => Promise<boolean>,
    private readonly log: Logger,
  ) {
    discovery.on('up', (peer) => void this.place(peer, 'up'));
    discovery.on('update', (peer) => void this.place(peer, 'update'));
    discovery.on('down', (peer, reason) => {
      this.log.info({ peer: peer.fingerprint, name: peer.name, reason }, 'peer left the network');
      peers.removeDiscoveredPeer(peer.fingerprint);
      peers.noteUntrusted(peer.fingerprint, peer.name, undefined);
    });
  }

  /** Trust changed: dial peers that became trusted, stop dialing those that no longer are. */
  async recheck(): Promise<void> {
    for (const peer of this.discovery.peers()) await this.place(peer, 'trust');
  }

  private async place(peer: DiscoveredPeer, why: 'up' | 'update' | 'trust'): Promise<void> {
    const address = dialAddress(peer);
    let trusted: boolean;
    try {
      trusted = await this.isTrusted(peer.fingerprint);
    } catch (err) {
      this.log.warn({ peer: peer.fingerprint, err }, 'cannot check trust of a discovered peer');
      return;
    }
    if (trusted) {
      this.peers.noteUntrusted(peer.fingerprint, peer.name, undefined);
      if (why !== 'trust') this.log.info({ peer: peer.fingerprint, name: peer.name, address: formatAddress(address), addresses: peer.addresses }, 'peer discovered');
      this.peers.addDiscoveredPeer(peer.fingerprint, dialAddresses(peer));
    } else {
      if (why === 'up') this.log.info({ peer: peer.fingerprint, name: peer.name, address: formatAddress(address) }, 'untrusted peer discovered; not dialing');
      this.peers.removeDiscoveredPeer(peer.fingerprint);
      this.peers.noteUntrusted(peer.fingerprint, peer.name, formatAddress(address));
    }
  }
}

/** The first announced address (IPv4 sorts first), at the announced port. */
function dialAddress(peer: DiscoveredPeer): Address {
  return dialAddresses(peer)[0]!;
}

/** Every announced address at the announced port, in Discovery's order (IPv4 first). */
function dialAddresses(peer: DiscoveredPeer): Address[] {
  return peer.addresses.map((host) => ({ kind: 'tcp', host, port: peer.port }) as Address);
}
