import { WebSocket } from 'ws';
import type { Address } from './address.js';
import { WS_MAX_PAYLOAD, WS_PATH } from './ws-options.js';

/** The ws URL for an address; ws speaks to Unix sockets through `ws+unix:PATH:REQUEST_PATH`. */
export function urlFor(address: Address): string {
  if (address.kind === 'unix') return `ws+unix:${address.path}:${WS_PATH}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `ws://${host}:${address.port}${WS_PATH}`;
}

/**
 * RFC 6455 masking keeps attacker-chosen plaintext from poisoning HTTP caches between a
 * browser and a server. Every message clipsync sends is a handshake message or ciphertext
 * that nobody but the peers can choose, so the mask is all zeros, which ws recognises on both
 * ends and skips: no copy and no XOR pass over every byte sent.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * Starts a WebSocket to a peer and returns it at once, still connecting. The caller must
 * attach its listeners in the same tick: the peer may send its first message in the same
 * TCP segment as the upgrade response, and ws emits it right after 'open'.
 */
export function openSocket(address: Address, timeoutMs: number): WebSocket {
  return new WebSocket(urlFor(address), {
    maxPayload: WS_MAX_PAYLOAD,
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    generateMask: zeroMask,
  });
}
