import { EventEmitter, once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAddress } from '../../../src/transport/address.js';
import { FaultProxy, type ProxyClock } from '../../helpers/fault-proxy.js';
import { FakeClock } from '../_support/fake-clock.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** Resolves when `check` holds, re-checking on every `event` of `emitter`. */
function until(emitter: EventEmitter, event: string, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const onEvent = () => {
      if (!check()) return;
      emitter.off(event, onEvent);
      resolve();
    };
    emitter.on(event, onEvent);
    onEvent();
  });
}

/** Lets the event loop go round a few times: anything loopback already delivered gets read. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A plain echo server that also records what each connection received and in how many reads. */
class Echo extends EventEmitter {
  readonly sockets: Socket[] = [];
  readonly received: Buffer[][] = [];

  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {
    super();
  }

  static async start(listenPath?: string): Promise<Echo> {
    let echo: Echo | undefined;
    const server = createServer((socket) => echo!.accept(socket));
    await new Promise<void>((resolve) => (listenPath !== undefined ? server.listen(listenPath, resolve) : server.listen(0, '127.0.0.1', resolve)));
    echo = new Echo(server, listenPath !== undefined ? `unix:${listenPath}` : `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return echo;
  }

  bytes(connection = 0): Buffer {
    return Buffer.concat(this.received[connection] ?? []);
  }

  waitForBytes(n: number, connection = 0): Promise<void> {
    return until(this, 'data', () => this.bytes(connection).length >= n);
  }

  waitForConnections(n: number): Promise<void> {
    return until(this, 'connection', () => this.sockets.length >= n);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const chunks: Buffer[] = [];
    this.sockets.push(socket);
    this.received.push(chunks);
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      chunks.push(Buffer.from(data));
      socket.write(data);
      this.emit('data');
    });
    this.emit('connection');
  }
}

/** A client connection that collects what it receives. */
class Client extends EventEmitter {
  readonly chunks: Buffer[] = [];
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(readonly socket: Socket) {
    super();
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      this.chunks.push(Buffer.from(data));
      this.emit('data');
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static async connect(address: string): Promise<Client> {
    const a = parseAddress(address);
    const socket = a.kind === 'unix' ? createConnection({ path: a.path }) : createConnection({ host: a.host, port: a.port });
    await once(socket, 'connect');
    return new Client(socket);
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  waitForBytes(n: number): Promise<void> {
    return until(this, 'data', () => this.data.length >= n);
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setUp(options: { clock?: ProxyClock } = {}): Promise<{ echo: Echo; proxy: FaultProxy }> {
  const echo = await Echo.start();
  const proxy = await FaultProxy.start(echo.address, options);
  cleanups.push(() => echo.close(), () => proxy.close());
  return { echo, proxy };
}

async function connect(proxy: FaultProxy): Promise<Client> {
  const client = await Client.connect(proxy.address);
  cleanups.push(() => void client.socket.destroy());
  return client;
}

describe('FaultProxy', () => {
  it('relays both ways and counts bytes per direction, in total and per connection', async () => {
    const { echo, proxy } = await setUp();
    const a = await connect(proxy);
    const b = await connect(proxy);
    a.socket.write('hello');
    b.socket.write('a longer message');
    await a.waitForBytes(5);
    await b.waitForBytes(16);
    expect(a.data.toString()).toBe('hello');
    expect(b.data.toString()).toBe('a longer message');
    expect(proxy.connections).toBe(2);
    expect(proxy.accepted).toBe(2);
    expect(proxy.bytes('toServer')).toBe(21);
    expect(proxy.bytes('toClient')).toBe(21);
    expect(proxy.bytes('toServer', 'received')).toBe(21);
    const sizes = proxy.connectionList().map((c) => c.forwarded.toServer).sort((x, y) => x - y);
    expect(sizes).toEqual([5, 16]);
    expect(echo.sockets).toHaveLength(2);
  });

  it('relays between Unix sockets too', async () => {
    const dir = makeTempDir('fp-');
    cleanups.push(() => removeDir(dir));
    const echo = await Echo.start(join(dir, 'echo.sock'));
    const proxy = await FaultProxy.start(echo.address, { listenPath: join(dir, 'proxy.sock') });
    cleanups.push(() => echo.close(), () => proxy.close());
    expect(proxy.address).toBe(`unix:${join(dir, 'proxy.sock')}`);
    expect(proxy.port).toBeUndefined();
    const client = await connect(proxy);
    client.socket.write('over unix');
    await client.waitForBytes(9);
    expect(client.data.toString()).toBe('over unix');
    expect(proxy.connection(1)?.forwarded).toEqual({ toServer: 9, toClient: 9 });
  });

  it('waitForConnection resolves for connections made before or after the call', async () => {
    const { proxy } = await setUp();
    await connect(proxy);
    const first = await proxy.waitForConnection(1);
    expect(first.id).toBe(1);
    const second = proxy.waitForConnection(2);
    await connect(proxy);
    expect((await second).id).toBe(2);
  });

  it('passes an end of stream on after the queued bytes', async () => {
    const { echo, proxy } = await setUp();
    const client = await connect(proxy);
    client.socket.end('bye');
    await client.closed;
    expect(client.data.toString()).toBe('bye');
    expect(echo.bytes().toString()).toBe('bye');
    await proxy.waitForIdle();
    expect(proxy.connection(1)?.open).toBe(false);
  });

  it('drop() destroys every open connection at once; new ones still work', async () => {
    const { proxy } = await setUp();
    const a = await connect(proxy);
    const b = await connect(proxy);
    await proxy.waitForConnection(2);
    proxy.drop();
    await Promise.all([a.closed, b.closed]);
    await proxy.waitForIdle();
    expect(proxy.connections).toBe(0);
    const c = await connect(proxy);
    c.socket.write('again');
    await c.waitForBytes(5);
    expect(c.data.toString()).toBe('again');
  });

  it('stall() stops forwarding with the sockets open; resume() delivers everything in order', async () => {
    const { echo, proxy } = await setUp();
    const client = await connect(proxy);
    await echo.waitForConnections(1);
    proxy.stall('toServer');
    client.socket.write('abc');
    // The other direction still flows: proof the connection is up while toServer is held.
    echo.sockets[0]!.write('xyz');
    await client.waitForBytes(3);
    await turns();
    expect(client.data.toString()).toBe('xyz');
    expect(echo.bytes().length).toBe(0);
    expect(proxy.bytes('toServer')).toBe(0);
    expect(client.isOpen).toBe(true);
    expect(proxy.connections).toBe(1);

    proxy.resume();
    await client.waitForBytes(6);
    expect(echo.bytes().toString()).toBe('abc');
    expect(client.data.toString()).toBe('xyzabc');
  });

  it('stall() without a direction holds both, also for connections made later', async () => {
    const { echo, proxy } = await setUp();
    proxy.stall();
    const client = await connect(proxy);
    await echo.waitForConnections(1);
    client.socket.write('ping');
    echo.sockets[0]!.write('pong');
    await turns();
    expect(client.data.length).toBe(0);
    expect(echo.bytes().length).toBe(0);
    proxy.resume();
    await client.waitForBytes(8);
    expect(client.data.toString()).toBe('pongping');
  });

  it('cutAfter() forwards exactly the given bytes, then ends the receiver and breaks the sender', async () => {
    const { echo, proxy } = await setUp();
    proxy.cutAfter(10, 'toServer');
    const client = await connect(proxy);
    client.socket.write('0123456789ABCDEFGHIJKLMNO');
    await client.closed;
    await proxy.waitForIdle();
    expect(echo.bytes().toString()).toBe('0123456789');
    expect(proxy.connection(1)?.forwarded.toServer).toBe(10);
    expect(proxy.connection(1)?.received.toServer).toBeGreaterThanOrEqual(10);

    // Not `once`: a later connection is cut after the same budget.
    const again = await connect(proxy);
    again.socket.write('abcdefghijklmnop');
    await again.closed;
    await proxy.waitForIdle();
    expect(echo.bytes(1).toString()).toBe('abcdefghij');
  });

  it('cutAfter() counts from now on an open connection, in either direction, and `once` clears it', async () => {
    const { echo, proxy } = await setUp();
    const client = await connect(proxy);
    client.socket.write('12345');
    await client.waitForBytes(5);
    proxy.cutAfter(3, 'toClient', { once: true });
    client.socket.write('abcdefgh');
    await client.closed;
    expect(client.data.toString()).toBe('12345abc');
    await echo.waitForBytes(13);
    expect(echo.bytes().toString()).toBe('12345abcdefgh');

    const next = await connect(proxy);
    next.socket.write('not cut any more');
    await next.waitForBytes(16);
    expect(next.data.toString()).toBe('not cut any more');
    expect(next.isOpen).toBe(true);
  });

  it('cutAfter(0) cuts open connections at once; cutAfter(null) lifts the fault', async () => {
    const { proxy } = await setUp();
    const client = await connect(proxy);
    await proxy.waitForConnection(1);
    proxy.cutAfter(0, 'toServer');
    await client.closed;
    proxy.cutAfter(null);
    const next = await connect(proxy);
    next.socket.write('ok');
    await next.waitForBytes(2);
    expect(next.data.toString()).toBe('ok');
  });

  it('oneByteWrites() forwards one byte per write, and the data arrives intact', async () => {
    const { echo, proxy } = await setUp();
    proxy.oneByteWrites(true);
    const client = await connect(proxy);
    const message = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
    client.socket.write(message);
    await client.waitForBytes(200);
    expect(client.data.equals(message)).toBe(true);
    expect(echo.bytes().equals(message)).toBe(true);
    expect(proxy.connection(1)?.writes).toEqual({ toServer: 200, toClient: 200 });
    // The receiver saw the bytes in many reads, not in one.
    expect(echo.received[0]!.length).toBeGreaterThan(1);

    proxy.oneByteWrites(false);
    client.socket.write(message);
    await client.waitForBytes(400);
    expect(proxy.connection(1)?.writes.toServer).toBeLessThan(400);
  });

  it('latency() holds each chunk for the given time and keeps the order when it changes', async () => {
    const clock = new FakeClock(0);
    const { echo, proxy } = await setUp({ clock });
    proxy.latency(50);
    const client = await connect(proxy);
    client.socket.write('a');
    await proxy.waitForBytes('toServer', 1, { counter: 'received' });
    clock.advanceSync(49);
    expect(proxy.bytes('toServer')).toBe(0);
    clock.advanceSync(1);
    expect(proxy.bytes('toServer')).toBe(1);
    await echo.waitForBytes(1);

    // The echo comes back delayed as well.
    await proxy.waitForBytes('toClient', 1, { counter: 'received' });
    expect(client.data.length).toBe(0);
    clock.advanceSync(50);
    await client.waitForBytes(1);

    // 'b' is due at +50, 'c' (sent after the latency drops to 0) at once: 'c' still waits for 'b'.
    client.socket.write('b');
    await proxy.waitForBytes('toServer', 2, { counter: 'received' });
    proxy.latency(0);
    client.socket.write('c');
    await proxy.waitForBytes('toServer', 3, { counter: 'received' });
    expect(proxy.bytes('toServer')).toBe(1);
    clock.advanceSync(50);
    await echo.waitForBytes(3);
    expect(echo.bytes().toString()).toBe('abc');
  });

  it('slowReader() reads at the given rate and its backpressure reaches the sender', async () => {
    const clock = new FakeClock(0);
    const { proxy } = await setUp({ clock });
    const rate = 1024 * 1024;
    proxy.slowReader(rate, 'toServer');
    const client = await connect(proxy);
    client.socket.resume(); // discard the echo
    const total = 64 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 7);
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        produced += block.length;
        this.push(block);
      },
    });
    source.pipe(client.socket);

    // The proxy read one chunk and is now waiting for the rate to pay for it.
    await proxy.waitForBytes('toServer', 1, { counter: 'received' });
    const first = proxy.bytes('toServer', 'received');
    expect(first).toBeLessThanOrEqual(64 * 1024);
    expect(clock.pendingDelays()).toEqual([(first * 1000) / rate]);
    // The sender blocks: its socket wants a drain and its source stopped being read.
    await waitFor(() => client.socket.writableNeedDrain, { what: 'the sender to be blocked' });
    const producedWhenBlocked = produced;
    await turns();
    expect(produced).toBe(producedWhenBlocked);
    expect(produced).toBeLessThan(total);
    expect(proxy.bytes('toServer', 'received')).toBe(first);

    // Each tick of the clock lets exactly one more chunk in, charged at the same rate.
    clock.advanceSync((first * 1000) / rate);
    await proxy.waitForBytes('toServer', first + 1, { counter: 'received' });
    const second = proxy.bytes('toServer', 'received') - first;
    expect(clock.pendingDelays()).toEqual([(second * 1000) / rate]);

    proxy.slowReader(null);
    await proxy.waitForBytes('toServer', total);
    expect(produced).toBe(total);
  });

  it('refuse() closes new connections at once without reaching the target; open ones stay', async () => {
    const { echo, proxy } = await setUp();
    const open = await connect(proxy);
    await proxy.waitForConnection(1);
    proxy.refuse(true);
    const refused = await connect(proxy);
    await refused.closed;
    expect(refused.data.length).toBe(0);
    expect(proxy.refused).toBe(1);
    expect(proxy.accepted).toBe(1);
    open.socket.write('still here');
    await open.waitForBytes(10);
    expect(echo.sockets).toHaveLength(1);

    proxy.refuse(false);
    const later = await connect(proxy);
    later.socket.write('in');
    await later.waitForBytes(2);
    expect(proxy.accepted).toBe(2);
  });

  it('heal() clears every fault', async () => {
    const { proxy } = await setUp();
    proxy.stall();
    proxy.oneByteWrites(true);
    proxy.cutAfter(1, 'toServer');
    proxy.refuse(true);
    proxy.heal();
    const client = await connect(proxy);
    client.socket.write('healthy');
    await client.waitForBytes(7);
    expect(proxy.connection(1)?.writes.toServer).toBe(1);
  });

  it('close() ends every connection and rejects pending waits', async () => {
    const echo = await Echo.start();
    const proxy = await FaultProxy.start(echo.address);
    cleanups.push(() => echo.close());
    const client = await connect(proxy);
    await proxy.waitForConnection(1);
    const waiting = proxy.waitForBytes('toServer', 1);
    const closing = proxy.close();
    await expect(waiting).rejects.toThrow(/closed while waiting/);
    await closing;
    await client.closed;
    await expect(proxy.waitForConnection(2)).rejects.toThrow(/closed/);
    await expect(Client.connect(proxy.address)).rejects.toThrow();
  });

  it('a target that refuses the dial closes the client', async () => {
    const echo = await Echo.start();
    const target = echo.address;
    await echo.close();
    const proxy = await FaultProxy.start(target);
    cleanups.push(() => proxy.close());
    const client = await connect(proxy);
    await client.closed;
    await proxy.waitForIdle();
  });
});
