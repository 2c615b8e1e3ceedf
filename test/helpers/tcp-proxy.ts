import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpChunk {
  direction: 'toServer' | 'toClient';
  session: number;
  data: Buffer;
}

/**
 * A plain TCP relay on 127.0.0.1 that records every byte it carries, in order, per direction
 * and connection: what an eavesdropper on the network would see.
 */
export class TcpProxy {
  readonly chunks: TcpChunk[] = [];
  private readonly sockets = new Set<Socket>();
  private sessions = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** `target` is `tcp://HOST:PORT`, as a daemon's `status` shows its listener. */
  static async start(target: string): Promise<TcpProxy> {
    const match = /^tcp:\/\/(.+):(\d+)$/.exec(target);
    if (match === null) throw new Error(`TcpProxy needs a tcp:// target, got ${target}`);
    const host = match[1]!;
    const port = Number(match[2]);
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.relay(client, host, port));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  get address(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Every byte sent in `direction` (all connections, in order of arrival). */
  captured(direction?: 'toServer' | 'toClient', session?: number): Buffer {
    return Buffer.concat(
      this.chunks.filter((c) => (direction === undefined || c.direction === direction) && (session === undefined || c.session === session)).map((c) => c.data),
    );
  }

  /** The connection numbers seen so far. */
  sessionIds(): number[] {
    return [...new Set(this.chunks.map((c) => c.session))];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, host: string, port: number): void {
    const session = this.sessions++;
    const upstream = createConnection({ host, port });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (data: Buffer) => this.chunks.push({ direction: 'toServer', session, data: Buffer.from(data) }));
    upstream.on('data', (data: Buffer) => this.chunks.push({ direction: 'toClient', session, data: Buffer.from(data) }));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
