import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../src/core/clock.js';

/**
 * The moving parts of FaultProxy: a Session per proxied connection and a Pump per direction,
 * which reads its sender, applies the faults and writes to the receiver.
 */

export type Direction = 'toServer' | 'toClient';
export const DIRECTIONS: readonly Direction[] = ['toServer', 'toClient'];

/** Only latency and the slow reader need time; tests pass a fake clock to drive them. */
export type ProxyClock = Clock;

export interface ByteCounts {
  toServer: number;
  toClient: number;
}

/** What a test can see of one proxied connection. */
export interface ProxyConnection {
  /** 1 for the first connection accepted (refused ones are not counted), 2 for the next… */
  readonly id: number;
  /** Bytes read from each direction's sender. */
  readonly received: ByteCounts;
  /** Bytes handed to each direction's receiver. */
  readonly forwarded: ByteCounts;
  /** Socket writes made per direction (one per byte with oneByteWrites). */
  readonly writes: ByteCounts;
  /** Bytes forwarded after being held for a latency (each at least the latency it arrived under). */
  readonly delayed: ByteCounts;
  /** Bytes read under a slowReader rate (each chunk paid for by a pause in reading). */
  readonly throttled: ByteCounts;
  readonly open: boolean;
  /** Resolves once both of its sockets are closed. */
  readonly closed: Promise<void>;
}

export type ByteCounter = 'forwarded' | 'received';

export interface CutFault {
  bytes: number;
  direction: Direction;
  once: boolean;
}

/** The switches, read by every pump on every step so a change applies at once everywhere. */
export interface Faults {
  stalled: Set<Direction>;
  latencyMs: number;
  oneByte: boolean;
  bytesPerSecond: Record<Direction, number | undefined>;
  cut: CutFault | undefined;
  refusing: boolean;
}

/** What a session needs from the proxy that owns it. */
export interface SessionHost {
  readonly clock: ProxyClock;
  readonly queueLimitBytes: number;
  emit(event: string, ...args: unknown[]): boolean;
  /** A cut fault fired on one connection (a `once` cut then clears itself). */
  cutFired(): void;
}

/** One client connection and its upstream connection, with a pump per direction. */
export class Session implements ProxyConnection {
  readonly received: ByteCounts = { toServer: 0, toClient: 0 };
  readonly forwarded: ByteCounts = { toServer: 0, toClient: 0 };
  readonly writes: ByteCounts = { toServer: 0, toClient: 0 };
  readonly delayed: ByteCounts = { toServer: 0, toClient: 0 };
  readonly throttled: ByteCounts = { toServer: 0, toClient: 0 };
  readonly closed: Promise<void>;
  open = true;
  private readonly pumps: Record<Direction, Pump>;
  private cut = false;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    private readonly upstream: Socket,
    readonly proxy: SessionHost,
    readonly faults: Faults,
  ) {
    this.pumps = {
      toServer: new Pump('toServer', client, upstream, this),
      toClient: new Pump('toClient', upstream, client, this),
    };
    let openSockets = 2;
    this.closed = new Promise<void>((resolve) => {
      for (const socket of [client, upstream]) {
        // A proxy should not add Nagle delays; one-byte writes must leave as one-byte segments.
        socket.setNoDelay(true);
        socket.on('error', () => undefined);
        socket.on('close', (hadError) => {
          // The pump writing into this socket has nowhere to go any more.
          this.pumps[socket === client ? 'toClient' : 'toServer'].stop();
          // A reset (or a failed upstream dial) on one side is passed on as a reset.
          if (hadError) this.destroy();
          if (--openSockets === 0) {
            this.open = false;
            resolve();
            this.proxy.emit('closed', this);
          }
        });
      }
    });
    if (faults.cut !== undefined) this.setCutBudget(faults.cut);
    this.poke();
  }

  destroy(): void {
    this.pumps.toServer.stop();
    this.pumps.toClient.stop();
    this.client.destroy();
    this.upstream.destroy();
  }

  poke(): void {
    this.pumps.toServer.poke();
    this.pumps.toClient.poke();
  }

  liftThrottle(): void {
    this.pumps.toServer.liftThrottle();
    this.pumps.toClient.liftThrottle();
  }

  setCutBudget(cut: CutFault | undefined): void {
    for (const d of DIRECTIONS) this.pumps[d].cutBudget = cut !== undefined && cut.direction === d ? cut.bytes : undefined;
    if (cut !== undefined) this.pumps[cut.direction].poke();
  }

  counted(direction: Direction, counter: 'received' | 'forwarded', bytes: number): void {
    this[counter][direction] += bytes;
    this.proxy.emit('bytes', this, direction, counter);
  }

  /**
   * Ends the receiving side of `direction` after what was already forwarded (so exactly the
   * budgeted bytes arrive, then EOF) and destroys the sending side: the sender sees a broken
   * connection, the receiver a stream cut mid-frame.
   */
  cutNow(direction: Direction): void {
    if (this.cut) return;
    this.cut = true;
    this.pumps.toServer.stop();
    this.pumps.toClient.stop();
    const [sender, receiver] = direction === 'toServer' ? [this.client, this.upstream] : [this.upstream, this.client];
    sender.destroy();
    // Keep draining what the receiver sends so its close is a clean FIN, not a reset that could
    // discard the bytes it has not read yet; it closes its side on EOF and the socket then closes.
    receiver.resume();
    receiver.end();
    this.proxy.cutFired();
  }
}

/** Moves bytes from one socket to the other, applying the faults. */
class Pump {
  cutBudget: number | undefined;
  private readonly queue: { data: Buffer; dueAt: number; delayed: boolean }[] = [];
  private queuedBytes = 0;
  private writing = false;
  private stopped = false;
  private sourceEnded = false;
  private latencyTimer: TimerHandle | undefined;
  private throttleTimer: TimerHandle | undefined;

  constructor(
    private readonly direction: Direction,
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly session: Session,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => {
      this.sourceEnded = true;
      this.drain();
    });
  }

  private get faults(): Faults {
    return this.session.faults;
  }

  private get clock(): ProxyClock {
    return this.session.proxy.clock;
  }

  poke(): void {
    this.updateFlow();
    this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.clearTimers();
  }

  liftThrottle(): void {
    if (this.throttleTimer === undefined) return;
    this.clock.clearTimeout(this.throttleTimer);
    this.throttleTimer = undefined;
  }

  private clearTimers(): void {
    this.liftThrottle();
    if (this.latencyTimer !== undefined) this.clock.clearTimeout(this.latencyTimer);
    this.latencyTimer = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.session.counted(this.direction, 'received', chunk.length);
    this.queue.push({ data: chunk, dueAt: this.clock.now() + this.faults.latencyMs, delayed: this.faults.latencyMs > 0 });
    this.queuedBytes += chunk.length;
    const rate = this.faults.bytesPerSecond[this.direction];
    if (rate !== undefined) {
      this.session.throttled[this.direction] += chunk.length;
      // Charge the chunk just read: no more reading until the rate has paid for it.
      this.liftThrottle();
      this.throttleTimer = this.clock.setTimeout(() => {
        this.throttleTimer = undefined;
        this.poke();
      }, (chunk.length * 1000) / rate);
    }
    this.updateFlow();
    this.drain();
  }

  /** Reads from the sender only while this direction may accept more. */
  private updateFlow(): void {
    if (this.stopped || this.source.destroyed) return;
    const hold = this.faults.stalled.has(this.direction) || this.throttleTimer !== undefined || this.queuedBytes >= this.session.proxy.queueLimitBytes;
    if (hold && !this.source.isPaused()) this.source.pause();
    else if (!hold && this.source.isPaused()) this.source.resume();
  }

  private drain(): void {
    for (;;) {
      if (this.writing || this.stopped || this.faults.stalled.has(this.direction)) return;
      if (this.cutBudget === 0) {
        this.session.cutNow(this.direction);
        return;
      }
      const head = this.queue[0];
      if (head === undefined) {
        if (this.sourceEnded && !this.dest.writableEnded) this.dest.end();
        return;
      }
      const wait = head.dueAt - this.clock.now();
      if (wait > 0) {
        this.latencyTimer ??= this.clock.setTimeout(() => {
          this.latencyTimer = undefined;
          this.drain();
        }, wait);
        return;
      }
      let take = this.faults.oneByte ? 1 : head.data.length;
      if (this.cutBudget !== undefined) take = Math.min(take, this.cutBudget);
      const piece = head.data.subarray(0, take);
      if (take === head.data.length) this.queue.shift();
      else head.data = head.data.subarray(take);
      this.queuedBytes -= take;
      if (this.cutBudget !== undefined) this.cutBudget -= take;
      this.session.writes[this.direction]++;
      if (head.delayed) this.session.delayed[this.direction] += take;
      const flushed = this.dest.write(piece);
      this.session.counted(this.direction, 'forwarded', take);
      this.updateFlow();
      if (!flushed) {
        this.writing = true;
        this.dest.once('drain', () => {
          this.writing = false;
          this.drain();
        });
        return;
      }
      if (this.faults.oneByte && this.cutBudget !== 0) {
        // Give the receiver a turn of the event loop to read each byte on its own.
        this.writing = true;
        setImmediate(() => {
          this.writing = false;
          this.drain();
        });
        return;
      }
    }
  }
}
