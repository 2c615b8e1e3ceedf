import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
// The responder half of bonjour-service: one multicast-dns socket plus a record registry that
// answers queries. Its publish()/Browser are not used (see advertiser.ts and service-cache.ts).
import { Server } from 'bonjour-service/dist/lib/mdns-server.js';
import { MDNS_IPV6_GROUP, type LinkSpec } from './interfaces.js';
import type { DnsQuestion, DnsRecord } from './records.js';

/** The slice of multicast-dns (under bonjour-service, which types it `any`) that we use. */
interface MulticastDns {
  on(event: 'response', listener: (packet: { answers?: DnsRecord[]; additionals?: DnsRecord[] }, rinfo: { address: string }) => void): void;
  on(event: 'warning' | 'error', listener: (err: Error) => void): void;
  query(query: { questions: DnsQuestion[] }, callback: (err?: Error | null) => void): void;
  respond(response: { answers: DnsRecord[]; additionals?: DnsRecord[] }, callback: (err?: Error | null) => void): void;
  destroy(callback: () => void): void;
}

/** Node's dgram socket, or a stand-in for tests (an in-memory LAN); told which link it is for. */
export type SocketFactory = (spec: LinkSpec) => unknown;

export interface LinkEvents {
  /** Every record of a response packet, with the sender's address. */
  response: [records: DnsRecord[], from: string];
  /** Trouble that does not stop the link (a membership that failed, a garbled packet). */
  warning: [err: Error];
  /** The socket cannot be used (bind refused). */
  error: [err: Error];
}

/**
 * Error codes from sending to 224.0.0.251 or ff02::fb that mean "this host cannot multicast
 * here": no route for 224.0.0.0/4, or none for ff00::/8 in the interface's local table
 * (ENETUNREACH), a firewall (EPERM), an address or interface that went
 * away (EADDRNOTAVAIL, ENODEV). Anything else is reported too, but named as unexpected.
 */
export const NO_MULTICAST_CODES: ReadonlySet<string> = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ENODEV', 'EPERM', 'EACCES', 'EINVAL']);

/**
 * One mDNS socket on one link: sends queries and unsolicited responses, answers queries for
 * registered records, reports responses.
 *
 * IPv4 (224.0.0.251:5353): with an interface chosen it binds the wildcard address (a socket
 * bound to a unicast address would not receive multicast on Linux) and joins and sends on
 * that interface only; without, it joins on every interface and sends where the kernel's
 * multicast route points.
 *
 * IPv6 (ff02::fb, port 5353): always one interface, named as the scope `::%eth0` (the group
 * is link-scoped, so there is no default route to follow). The socket is bound to `::` with
 * IPV6_V6ONLY, so that it never takes IPv4 packets for port 5353 (a unicast reply, say) that
 * belong to the IPv4 link.
 */
export class MdnsLink extends EventEmitter<LinkEvents> {
  private readonly server: Server;
  private readonly mdns: MulticastDns;
  private closed = false;
  /** The error of the last send if it failed; cleared by the next send that succeeds. */
  lastSendError: Error | undefined;

  constructor(
    readonly spec: LinkSpec,
    socketFactory?: SocketFactory,
  ) {
    super();
    const options: Record<string, unknown> = {};
    if (spec.family === 'IPv6') {
      Object.assign(options, { type: 'udp6', ip: MDNS_IPV6_GROUP, interface: spec.multicastInterface, bind: '::' });
      options['socket'] = socketFactory?.(spec) ?? createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
    } else {
      if (spec.multicastInterface !== undefined) Object.assign(options, { interface: spec.multicastInterface, bind: '0.0.0.0' });
      if (socketFactory !== undefined) options['socket'] = socketFactory(spec);
    }
    // bonjour-service's default error callback throws; a failed answer is only worth a warning.
    this.server = new Server(options, (err: Error) => this.emit('warning', err));
    this.mdns = this.server.mdns as MulticastDns;
    // multicast-dns emits 'error' for bind failures: with no listener that would crash the daemon.
    this.mdns.on('error', (err) => this.emit('error', err));
    this.mdns.on('warning', (err) => this.emit('warning', err));
    this.mdns.on('response', (packet, rinfo) => {
      const records = [...(Array.isArray(packet.answers) ? packet.answers : []), ...(Array.isArray(packet.additionals) ? packet.additionals : [])];
      this.emit('response', records, rinfo.address);
    });
    // Nobody may be listening yet; an unhandled 'error' event would throw.
    this.on('error', () => undefined);
  }

  /** Sends a query; rejects with the socket's error when it cannot be sent. */
  query(questions: DnsQuestion[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve();
      this.mdns.query({ questions }, (err) => this.settle(err, resolve, reject));
    });
  }

  /** Sends an unsolicited response (an announcement or a goodbye). */
  announce(answers: DnsRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed || answers.length === 0) return resolve();
      this.mdns.respond({ answers }, (err) => this.settle(err, resolve, reject));
    });
  }

  /** Records this link answers queries with, from now on. */
  register(records: DnsRecord[]): void {
    this.server.register(records as Parameters<Server['register']>[0]);
  }

  /** Stops answering for these records (all records of each name and type given). */
  unregister(records: DnsRecord[]): void {
    this.server.unregister(records as Parameters<Server['unregister']>[0]);
  }

  private settle(err: Error | null | undefined, resolve: () => void, reject: (err: Error) => void): void {
    this.lastSendError = err ?? undefined;
    if (err) reject(err);
    else resolve();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.mdns.destroy(() => resolve()));
  }
}

/** The errno-style code of a socket error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
