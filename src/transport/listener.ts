import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { fail } from '../core/errors.js';
import { formatAddress, type Address } from './address.js';
import { claimUnixSocketPath } from './unix-socket.js';
import { WS_MAX_PAYLOAD, WS_PATH } from './ws-options.js';

export interface Listener {
  /** The bound address: for `tcp://…:0`, the port the kernel chose. */
  readonly address: Address;
  close(): Promise<void>;
}

export type ConnectionHandler = (socket: WebSocket, remote: string) => void;

/** Accepts peer connections on one address: a WebSocket server over TCP or a Unix socket. */
export async function listen(address: Address, onConnection: ConnectionHandler): Promise<Listener> {
  if (address.kind === 'unix') {
    const path = address.path;
    await claimUnixSocketPath(path, { inUse: () => fail('CLIPSYNC_ERR_LISTEN', `another process is already listening on unix:${path}`) });
  }
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('clipsync peers speak WebSocket\n');
  });
  const wss = new WebSocketServer({ server, path: WS_PATH, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false });
  wss.on('connection', (socket, request) => {
    const remote =
      address.kind === 'unix'
        ? formatAddress(address)
        : formatAddress({ kind: 'tcp', host: request.socket.remoteAddress ?? '?', port: request.socket.remotePort ?? 0 });
    onConnection(socket, remote);
  });
  wss.on('error', () => undefined); // errors surface on the http server

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        fail('CLIPSYNC_ERR_LISTEN', `cannot listen on ${formatAddress(address)}: ${describeListenError(err)}`, {
          hint: err.code === 'EADDRINUSE' ? 'choose another port with --listen, or stop the program using it' : undefined,
        }),
      );
    };
    server.once('error', onError);
    const ready = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, ready);
    else server.listen(address.port, address.host, ready);
  });
  if (address.kind === 'unix') await chmod(address.path, 0o600);

  const bound = boundAddress(address, server);
  return {
    address: bound,
    close: () => closeServer(server, wss, address),
  };
}

function boundAddress(requested: Address, server: Server): Address {
  if (requested.kind === 'unix') return requested;
  const info = server.address() as AddressInfo;
  return { kind: 'tcp', host: requested.host, port: info.port };
}

async function closeServer(server: Server, wss: WebSocketServer, address: Address): Promise<void> {
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address.kind === 'unix') await unlink(address.path).catch(() => undefined);
}

function describeListenError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'the address is already in use';
    case 'EACCES':
      return 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'that address does not belong to this machine';
    default:
      return err.message;
  }
}
