import { fail } from '../core/errors.js';

/** A place a daemon listens on or dials: `tcp://HOST:PORT` or `unix:PATH`. */
export type Address = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** The one parser of peer and listen addresses. IPv6 hosts are written in brackets. */
export function parseAddress(text: string): Address {
  const input = text.trim();
  if (input.startsWith('unix:')) {
    let path = input.slice('unix:'.length);
    if (path.startsWith('//')) {
      // URL-style unix:///run/x.sock: what follows the two slashes must be an absolute path.
      path = path.slice(2);
      if (!path.startsWith('/')) throw badAddress(text, 'unix:// must be followed by an absolute path (unix:///path)');
    }
    if (path === '') throw badAddress(text, 'a unix: address needs a socket path');
    return { kind: 'unix', path };
  }
  if (input.startsWith('tcp://')) {
    const rest = input.slice('tcp://'.length);
    const match = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]/]+)):(\d{1,5})$/.exec(rest);
    if (match === null) throw badAddress(text, 'expected tcp://HOST:PORT (IPv6 in brackets: tcp://[::1]:PORT)');
    const port = Number(match[3]);
    if (port > 65535) throw badAddress(text, 'the port must be 0 to 65535');
    return { kind: 'tcp', host: (match[1] ?? match[2])!, port };
  }
  throw badAddress(text, 'addresses start with tcp:// or unix:');
}

export function formatAddress(address: Address): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}`;
}

function badAddress(text: string, why: string) {
  return fail('CLIPSYNC_ERR_ADDRESS', `"${text}" is not a valid address: ${why}`);
}
