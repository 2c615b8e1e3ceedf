import { EventEmitter } from 'node:events';
import type { NetworkInterfaceInfo } from 'node:os';
import type { InterfaceTable, LinkFamily, LinkSpec } from '../../../src/discovery/interfaces.js';

/**
 * An in-memory LAN for Discovery unit tests: stand-ins for dgram sockets that multicast-dns
 * (under bonjour-service) drives exactly as it drives real ones, so the real packet encoding,
 * responder and browser code runs; only the wire is fake. Delivery is asynchronous
 * (setImmediate), like a real socket; `settle()` waits until nothing is in flight. IPv4 and
 * IPv6 sockets are two separate wires on the one LAN: a packet reaches only sockets of the
 * family it was sent on.
 */
export class FakeLan {
  readonly hosts: FakeHost[] = [];
  private inFlight = 0;
  /** Every packet sent, by whom; for tests that count queries. */
  readonly sent: { from: string; family: LinkFamily; bytes: Buffer }[] = [];

  host(name: string, addresses: string[]): FakeHost {
    const host = new FakeHost(this, name, addresses);
    this.hosts.push(host);
    return host;
  }

  /** Resolves once no packet is in flight (a few event-loop turns; never a timed sleep). */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }

  /** @internal */
  transmit(from: FakeSocket, bytes: Buffer): void {
    this.sent.push({ from: from.host.name, family: from.family, bytes });
    // Over IPv6 the sender is its link-local address with the zone, as Node reports it.
    const rinfo =
      from.family === 'IPv6'
        ? { address: `fe80::${this.hosts.indexOf(from.host) + 1}%${from.host.interfaceName}`, family: 'IPv6' }
        : { address: from.host.addresses.find((a) => !a.includes(':')) ?? '0.0.0.0', family: 'IPv4' };
    for (const host of this.hosts) {
      if (!host.connected || !from.host.connected) continue;
      for (const socket of host.sockets) {
        if (!socket.bound || socket.closed || socket.family !== from.family) continue;
        if (socket === from && !from.loopback) continue;
        this.inFlight++;
        setImmediate(() => {
          this.inFlight--;
          if (socket.closed) return;
          socket.emit('message', Buffer.from(bytes), { ...rinfo, port: 5353, size: bytes.length });
        });
      }
    }
  }

  /** @internal */
  track<T>(fn: () => T): void {
    this.inFlight++;
    setImmediate(() => {
      this.inFlight--;
      fn();
    });
  }
}

export class FakeHost {
  readonly sockets: FakeSocket[] = [];
  /** Unplugged: sends nothing and hears nothing (a crash or a pulled cable: no goodbye). */
  connected = true;
  /** When set, sends fail with this code (ENETUNREACH: no multicast route). */
  sendError: string | undefined;
  /** The same for one family only (no route for 224.0.0.0/4, or none for ff00::/8). */
  readonly familySendError: Partial<Record<LinkFamily, string>> = {};
  /** When set, binding fails with this code (EADDRINUSE, EACCES). */
  bindError: string | undefined;
  interfaceName = 'eth0';

  constructor(
    readonly lan: FakeLan,
    readonly name: string,
    public addresses: string[],
  ) {}

  /** What os.networkInterfaces() would say on this host. */
  networkInterfaces = (): InterfaceTable => ({
    lo: [info('127.0.0.1', true), info('::1', true)],
    [this.interfaceName]: this.addresses.map((a) => info(a, false)),
  });

  socketFactory = (spec?: LinkSpec): FakeSocket => {
    const socket = new FakeSocket(this, spec?.family ?? 'IPv4');
    this.sockets.push(socket);
    return socket;
  };

  get openSockets(): number {
    return this.sockets.filter((s) => s.bound && !s.closed).length;
  }

  /** Open sockets of one family. */
  open(family: LinkFamily): FakeSocket[] {
    return this.sockets.filter((s) => s.bound && !s.closed && s.family === family);
  }
}

export class FakeSocket extends EventEmitter {
  bound = false;
  closed = false;
  loopback = true;
  readonly memberships: string[] = [];
  multicastInterface: string | undefined;

  constructor(
    readonly host: FakeHost,
    readonly family: LinkFamily,
  ) {
    super();
  }

  bind(_port: number, _address: string | undefined, callback: () => void): void {
    this.host.lan.track(() => {
      if (this.host.bindError !== undefined) {
        this.emit('error', errno(this.host.bindError, 'bind'));
        return;
      }
      this.bound = true;
      this.emit('listening');
      callback();
    });
  }

  address(): { address: string; port: number } {
    return { address: this.family === 'IPv6' ? '::' : '0.0.0.0', port: 5353 };
  }

  send(message: Buffer, offset: number, length: number, _port: number, _address: string, callback: (err: Error | null) => void): void {
    const error = this.host.sendError ?? this.host.familySendError[this.family];
    this.host.lan.track(() => {
      if (error !== undefined) return callback(errno(error, 'send'));
      this.host.lan.transmit(this, message.subarray(offset, offset + length));
      callback(null);
    });
  }

  addMembership(group: string, iface?: string): void {
    this.memberships.push(`${group}@${iface ?? ''}`);
  }

  dropMembership(): void {}
  setMulticastTTL(): void {}
  setMulticastLoopback(flag: boolean): void {
    this.loopback = flag;
  }
  setMulticastInterface(iface: string): void {
    this.multicastInterface = iface;
  }

  close(callback?: () => void): void {
    this.closed = true;
    if (callback) this.host.lan.track(callback);
  }
}

function info(address: string, internal: boolean): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return v6
    ? { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal, cidr: `${address}/64`, scopeid: 0 }
    : { address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: `${address}/24` };
}

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  err.code = code;
  err.syscall = syscall;
  return err;
}
