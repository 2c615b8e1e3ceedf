import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress, type Address } from '../../../src/transport/address.js';
import { ClipsyncError } from '../../../src/core/errors.js';

function rejection(text: string): ClipsyncError {
  try {
    parseAddress(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ClipsyncError);
    return err as ClipsyncError;
  }
  throw new Error(`parseAddress(${JSON.stringify(text)}) was accepted`);
}

describe('parseAddress', () => {
  it('parses tcp with an IPv4 host', () => {
    expect(parseAddress('tcp://127.0.0.1:25470')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 25470 });
  });

  it('parses tcp with a bracketed IPv6 host and drops the brackets', () => {
    expect(parseAddress('tcp://[::1]:8080')).toEqual({ kind: 'tcp', host: '::1', port: 8080 });
    expect(parseAddress('tcp://[fe80::1:2]:1')).toEqual({ kind: 'tcp', host: 'fe80::1:2', port: 1 });
  });

  it('parses tcp with a host name', () => {
    expect(parseAddress('tcp://laptop.local:9')).toEqual({ kind: 'tcp', host: 'laptop.local', port: 9 });
  });

  it('accepts port 0 and port 65535', () => {
    expect(parseAddress('tcp://0.0.0.0:0')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 0 });
    expect(parseAddress('tcp://localhost:65535')).toEqual({ kind: 'tcp', host: 'localhost', port: 65535 });
  });

  it('trims surrounding whitespace', () => {
    expect(parseAddress('  tcp://localhost:80\n')).toEqual({ kind: 'tcp', host: 'localhost', port: 80 });
  });

  it('parses unix:PATH for absolute and relative paths', () => {
    expect(parseAddress('unix:/run/clipsync.sock')).toEqual({ kind: 'unix', path: '/run/clipsync.sock' });
    expect(parseAddress('unix:relative/sock')).toEqual({ kind: 'unix', path: 'relative/sock' });
  });

  it('parses the unix:///abs URL form as the absolute path', () => {
    expect(parseAddress('unix:///tmp/x/clipsync.sock')).toEqual({ kind: 'unix', path: '/tmp/x/clipsync.sock' });
  });

  it.each([
    ['missing port', 'tcp://127.0.0.1'],
    ['empty port', 'tcp://127.0.0.1:'],
    ['port over 65535', 'tcp://127.0.0.1:65536'],
    ['port 99999', 'tcp://host:99999'],
    ['six digit port', 'tcp://host:100000'],
    ['negative port', 'tcp://host:-1'],
    ['unbracketed IPv6', 'tcp://::1:80'],
    ['path after port', 'tcp://host:80/x'],
    ['empty host', 'tcp://:80'],
    ['http scheme', 'http://host:80'],
    ['no scheme', 'host:80'],
    ['udp scheme', 'udp://host:80'],
    ['empty string', ''],
    ['empty unix path', 'unix:'],
    ['unix:// with nothing after it', 'unix://'],
    ['unix:// with a relative path', 'unix://x'],
    ['whitespace-only unix path', '  unix:  '],
  ])('rejects %s with CLIPSYNC_ERR_ADDRESS', (_what, text) => {
    const err = rejection(text);
    expect(err.code).toBe('CLIPSYNC_ERR_ADDRESS');
    expect(err.message).toContain(JSON.stringify(text));
  });

  it('explains the reason in the message', () => {
    expect(rejection('tcp://h:70000').message).toMatch(/0 to 65535/);
    expect(rejection('unix:').message).toMatch(/socket path/);
    expect(rejection('ftp://h:1').message).toMatch(/tcp:\/\/ or unix:/);
  });
});

describe('formatAddress', () => {
  it.each<Address>([
    { kind: 'tcp', host: '127.0.0.1', port: 25470 },
    { kind: 'tcp', host: '::1', port: 0 },
    { kind: 'tcp', host: 'fe80::1', port: 65535 },
    { kind: 'tcp', host: 'my-host.example', port: 22 },
    { kind: 'unix', path: '/run/user/1000/clipsync/clipsync.sock' },
    { kind: 'unix', path: 'relative.sock' },
  ])('round-trips %o through parseAddress', (address) => {
    expect(parseAddress(formatAddress(address))).toEqual(address);
  });

  it('brackets IPv6 hosts', () => {
    expect(formatAddress({ kind: 'tcp', host: '::1', port: 80 })).toBe('tcp://[::1]:80');
  });

  it.each(['tcp://127.0.0.1:1', 'tcp://[::1]:2', 'tcp://name:3', 'unix:/a/b.sock'])(
    'formats the parse of %s back to the same text',
    (text) => {
      expect(formatAddress(parseAddress(text))).toBe(text);
    },
  );

  it('normalises the unix:/// form to unix:/abs', () => {
    expect(formatAddress(parseAddress('unix:///abs/sock'))).toBe('unix:/abs/sock');
  });
});
