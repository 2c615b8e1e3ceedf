import { EventEmitter } from 'node:events';
import { systemClock } from '../../src/core/clock.js';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { formatAddress, parseAddress, type Address } from '../../src/transport/address.js';
import {
  DIRECTIONS,
  Session,
  type ByteCounter,
  type Direction,
  type Faults,
  type ProxyClock,
  type ProxyConnection,
  type SessionHost,
} from './fault-proxy-session.js';

export { DIRECTIONS, type ByteCounter, type ByteCounts, type Direction, type ProxyClock, type ProxyConnection } from './fault-proxy-session.js';

/**
 * A fault-injecting TCP (or Unix socket) relay for tests between real daemons: it forwards
 * every connection to a target, counts the bytes per direction and connection, and applies
 * faults switched at run time — to the connections already open and to those that come later.
 *
 * Flow control is by pause/resume only: while a direction is stalled, throttled or has a full
 * queue, the proxy stops reading its sender, so TCP backpressure reaches the sending process
 * as it would on a real slow or broken network. Nothing is buffered without bound.
 */

export interface FaultProxyOptions {
  /** Listen on this Unix socket path instead of 127.0.0.1:0. */
  listenPath?: string;
  clock?: ProxyClock;
  /** Bytes one direction may hold (latency, stall) before the proxy stops reading its sender. */
  queueLimitBytes?: number;
}

const DEFAULT_QUEUE_LIMIT = 1024 * 1024;

export class FaultProxy extends EventEmitter implements SessionHost {
  private readonly all: Session[] = [];
  private readonly faults: Faults = {
    stalled: new Set(),
    latencyMs: 0,
    oneByte: false,
    bytesPerSecond: { toServer: undefined, toClient: undefined },
    cut: undefined,
    refusing: false,
  };
  private refusedCount = 0;
  private closing = false;

  private constructor(
    private readonly server: Server,
    private readonly target: Address,
    private readonly listening: Address,
    readonly clock: ProxyClock,
    readonly queueLimitBytes: number,
  ) {
    super();
    // Tests attach many waiters at once; the default limit of 10 would only add noise.
    this.setMaxListeners(0);
  }

  /** `target` is `tcp://HOST:PORT` or `unix:PATH` (as a daemon's `status` shows), or the parsed form. */
  static async start(target: string | Address, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    const to = typeof target === 'string' ? parseAddress(target) : target;
    let proxy: FaultProxy | undefined;
    // allowHalfOpen: an end from one side is passed on only after its queued bytes, as a relay should.
    const server = createServer({ allowHalfOpen: true }, (socket) => proxy!.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (options.listenPath !== undefined) server.listen(options.listenPath, () => resolve());
      else server.listen(0, '127.0.0.1', () => resolve());
    });
    const listening: Address =
      options.listenPath !== undefined ? { kind: 'unix', path: options.listenPath } : { kind: 'tcp', host: '127.0.0.1', port: (server.address() as AddressInfo).port };
    proxy = new FaultProxy(server, to, listening, options.clock ?? systemClock, options.queueLimitBytes ?? DEFAULT_QUEUE_LIMIT);
    return proxy;
  }

  /** Where clients should connect: `tcp://127.0.0.1:PORT` or `unix:PATH`. */
  get address(): string {
    return formatAddress(this.listening);
  }

  /** The TCP port, or undefined when listening on a Unix socket. */
  get port(): number | undefined {
    return this.listening.kind === 'tcp' ? this.listening.port : undefined;
  }

  /** Connections open now. */
  get connections(): number {
    return this.all.filter((s) => s.open).length;
  }

  /** Connections accepted and relayed so far (refused ones excluded). */
  get accepted(): number {
    return this.all.length;
  }

  /** Connections closed at once because of refuse(true). */
  get refused(): number {
    return this.refusedCount;
  }

  /** The `id`th connection (1-based), if it has been accepted. */
  connection(id: number): ProxyConnection | undefined {
    return this.all[id - 1];
  }

  connectionList(): ProxyConnection[] {
    return [...this.all];
  }

  /** Total bytes in `direction` over all connections. */
  bytes(direction: Direction, counter: ByteCounter = 'forwarded'): number {
    return this.all.reduce((sum, s) => sum + s[counter][direction], 0);
  }

  // ---- faults ------------------------------------------------------------------------

  /** Destroys every open connection at once, as a network failure would (no close handshake). */
  drop(): void {
    for (const session of this.all) session.destroy();
  }

  /** Stops forwarding in one direction (or both) while keeping the sockets open. */
  stall(direction?: Direction): void {
    for (const d of direction === undefined ? DIRECTIONS : [direction]) this.faults.stalled.add(d);
    this.poke();
  }

  /** Undoes every stall. */
  resume(): void {
    this.faults.stalled.clear();
    this.poke();
  }

  /**
   * Forwards exactly `bytes` more bytes in `direction` on each connection (counted from now for
   * open ones, from their start for later ones), then cuts it: those bytes are delivered, followed
   * by an end of stream, and the sender's side is destroyed. With `once`, only the first
   * connection to reach the limit is cut and the fault then clears itself. `null` clears it.
   */
  cutAfter(bytes: number | null, direction: Direction = 'toServer', options: { once?: boolean } = {}): void {
    if (bytes === null) {
      this.faults.cut = undefined;
      for (const session of this.all) session.setCutBudget(undefined);
      return;
    }
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`cutAfter needs a byte count >= 0, got ${bytes}`);
    this.faults.cut = { bytes, direction, once: options.once ?? false };
    for (const session of this.all) session.setCutBudget(this.faults.cut);
  }

  /** Forwards one byte per socket write, yielding to the event loop between bytes. Slow: for small data. */
  oneByteWrites(on: boolean): void {
    this.faults.oneByte = on;
    this.poke();
  }

  /** Holds each chunk `ms` before forwarding it; order is kept even when the latency changes. */
  latency(ms: number): void {
    if (!(ms >= 0)) throw new Error(`latency needs ms >= 0, got ${ms}`);
    this.faults.latencyMs = ms;
    this.poke();
  }

  /**
   * Reads from the sender of `direction` (both when omitted) at about `bytesPerSecond`: after
   * each chunk read, the socket is paused for as long as that chunk "costs". `null` lifts it.
   */
  slowReader(bytesPerSecond: number | null, direction?: Direction): void {
    if (bytesPerSecond !== null && !(bytesPerSecond > 0)) throw new Error(`slowReader needs a rate > 0, got ${bytesPerSecond}`);
    for (const d of direction === undefined ? DIRECTIONS : [direction]) this.faults.bytesPerSecond[d] = bytesPerSecond ?? undefined;
    for (const session of this.all) session.liftThrottle();
    this.poke();
  }

  /** While on, new connections are accepted and closed at once; open ones are left alone. */
  refuse(on: boolean): void {
    this.faults.refusing = on;
  }

  /** Clears every fault. */
  heal(): void {
    this.cutAfter(null);
    this.oneByteWrites(false);
    this.latency(0);
    this.slowReader(null);
    this.refuse(false);
    this.resume();
  }

  // ---- waiting -----------------------------------------------------------------------

  /** Resolves with the `nth` connection (1-based, default the first) once it has been accepted. */
  waitForConnection(nth = 1): Promise<ProxyConnection> {
    return this.until('connection', () => this.all[nth - 1], `connection #${nth}`);
  }

  /** Resolves once `n` bytes in `direction` were forwarded (or received), in total or on one connection. */
  waitForBytes(direction: Direction, n: number, options: { connection?: number; counter?: ByteCounter } = {}): Promise<void> {
    const counter = options.counter ?? 'forwarded';
    const count = () => (options.connection === undefined ? this.bytes(direction, counter) : (this.all[options.connection - 1]?.[counter][direction] ?? 0));
    return this.until('bytes', () => (count() >= n ? true : undefined), `${n} bytes ${counter} ${direction}`).then(() => undefined);
  }

  /** Resolves once no connection is open. */
  waitForIdle(): Promise<void> {
    return this.until('closed', () => (this.connections === 0 ? true : undefined), 'all connections to close').then(() => undefined);
  }

  /** Closes the listener and every connection; pending waits reject. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.drop();
    this.emit('shutdown');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all(this.all.map((s) => s.closed));
  }

  // ---- internals ---------------------------------------------------------------------

  private until<T>(event: string, check: () => T | undefined, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const onShutdown = () => {
        if (done()) return;
        cleanup();
        reject(new Error(`FaultProxy closed while waiting for ${what}`));
      };
      const onEvent = () => void done();
      const cleanup = () => {
        this.off(event, onEvent);
        this.off('shutdown', onShutdown);
      };
      this.on(event, onEvent);
      this.on('shutdown', onShutdown);
      if (!done() && this.closing) onShutdown();
    });
  }

  /** Lets every pump re-read the switches. */
  private poke(): void {
    for (const session of this.all) session.poke();
  }

  private accept(client: Socket): void {
    if (this.closing || this.faults.refusing) {
      this.refusedCount++;
      client.on('error', () => undefined);
      client.destroy();
      this.emit('refused');
      return;
    }
    const upstream =
      this.target.kind === 'unix'
        ? createConnection({ path: this.target.path, allowHalfOpen: true })
        : createConnection({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    const session = new Session(this.all.length + 1, client, upstream, this, this.faults);
    this.all.push(session);
    this.emit('connection', session);
  }

  /** For sessions (SessionHost): a cut fired on one connection; a `once` cut clears itself. */
  cutFired(): void {
    if (this.faults.cut?.once !== true) return;
    this.faults.cut = undefined;
    for (const session of this.all) session.setCutBudget(undefined);
  }
}
