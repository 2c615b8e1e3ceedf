import { WebSocket } from 'ws';
import { fail } from '../errors.js';
import { formatAddress, type Address } from './address.js';
import { WS_MAX_PAYLOAD, WS_PATH } from './ws-options.js';

/** The ws URL for an address; ws speaks to Unix sockets through `ws+unix:PATH:REQUEST_PATH`. */
export function urlFor(address: Address): string {
  if (address.kind === 'unix') return `ws+unix:${address.path}:${WS_PATH}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `ws://${host}:${address.port}${WS_PATH}`;
}

/** Opens a WebSocket to a peer; resolves once it is open, rejects with a clear reason. */
export function dial(address: Address, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(urlFor(address), {
      maxPayload: WS_MAX_PAYLOAD,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    const onError = (err: Error & { code?: string }): void => {
      socket.removeAllListeners('open');
      socket.terminate();
      reject(fail('CLIPSYNC_ERR_PROTOCOL', `cannot connect to ${formatAddress(address)}: ${err.code ?? err.message}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('open', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
