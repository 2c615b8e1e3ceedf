import type { PublicKey } from '../../../src/identity/public-key.js';
import { Discovery, type DiscoveredPeer, type DiscoveryOptions, type DownReason } from '../../../src/discovery/mdns.js';
import type { FakeClock } from './fake-clock.js';
import type { FakeHost, FakeLan } from './fake-lan.js';
import { captureLog, type CapturedLog } from './logger.js';

/** What a Discovery reported, in order. */
export type DiscoveryEvent =
  | { type: 'up'; peer: DiscoveredPeer }
  | { type: 'update'; peer: DiscoveredPeer; previous: DiscoveredPeer }
  | { type: 'down'; peer: DiscoveredPeer; reason: DownReason };

/** One host on the in-memory LAN running a real Discovery, with everything it reported. */
export interface DiscoveryNode {
  host: FakeHost;
  discovery: Discovery;
  logs: CapturedLog;
  events: DiscoveryEvent[];
  states: string[];
}

/** A host `name` at `addresses` on `lan`, running Discovery on the fake `clock` (not started). */
export function discoveryNode(
  lan: FakeLan,
  clock: FakeClock,
  publicKey: PublicKey,
  name: string,
  addresses: string[],
  options: Partial<DiscoveryOptions> = {},
): DiscoveryNode {
  const host = lan.host(name, addresses);
  const logs = captureLog();
  const discovery = new Discovery({
    publicKey,
    name,
    protocolVersion: 1,
    port: 25470,
    log: logs.log,
    clock,
    networkInterfaces: host.networkInterfaces,
    socketFactory: host.socketFactory,
    random: () => 0,
    ...options,
  });
  const n: DiscoveryNode = { host, discovery, logs, events: [], states: [] };
  discovery.on('up', (peer) => n.events.push({ type: 'up', peer }));
  discovery.on('update', (peer, previous) => n.events.push({ type: 'update', peer, previous }));
  discovery.on('down', (peer, reason) => n.events.push({ type: 'down', peer, reason }));
  discovery.on('state', (state) => n.states.push(state));
  return n;
}
