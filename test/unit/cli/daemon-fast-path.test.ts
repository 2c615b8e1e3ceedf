import { describe, expect, it } from 'vitest';
import { parseDaemonCommand } from '../../../src/cli/daemon-fast-path.js';

/*
 * `daemon` in its plain forms skips yargs (an idle daemon would keep it in memory for good);
 * everything else goes to yargs, so help and errors behave exactly as before.
 */
describe('parseDaemonCommand', () => {
  it('takes the plain forms: repeated --listen, --peer and --mdns-interface, --[no-]mdns, --clipboard, --home, --json', () => {
    expect(parseDaemonCommand(['daemon'])).toEqual({});
    expect(parseDaemonCommand(['daemon', '--home', '/h', '--clipboard', 'memory', '--no-mdns', '--json'])).toEqual({ home: '/h', clipboard: 'memory', mdns: false, json: true });
    expect(parseDaemonCommand(['daemon', '--listen', 'tcp://127.0.0.1:0', '--peer', 'unix:/a', '--listen', 'unix:/b', '--peer', 'tcp://h:1'])).toEqual({
      listen: ['tcp://127.0.0.1:0', 'unix:/b'],
      peer: ['unix:/a', 'tcp://h:1'],
    });
    expect(parseDaemonCommand(['daemon', '--mdns', '--mdns-interface', 'eth0', '--mdns-interface', '10.0.0.2'])).toEqual({ mdns: true, 'mdns-interface': ['eth0', '10.0.0.2'] });
    expect(parseDaemonCommand(['daemon', '--log-format', 'pretty'])).toEqual({ 'log-format': 'pretty' });
    expect(parseDaemonCommand(['daemon', '--log-format', 'json'])).toEqual({ 'log-format': 'json' });
  });

  it('leaves everything else to yargs', () => {
    for (const argv of [
      [],
      ['copy'],
      ['daemon', '--help'],
      ['daemon', '-h'],
      ['daemon', 'extra'],
      ['daemon', '--clipboard', 'clipboardy'],
      ['daemon', '--clipboard'],
      ['daemon', '--clipboard', 'memory', '--clipboard', 'auto'],
      ['daemon', '--listen'],
      ['daemon', '--listen', '--no-mdns'],
      ['daemon', '--listen=tcp://h:1'],
      ['daemon', '--peer', 'tcp://a:1', 'tcp://b:1'],
      ['daemon', '--mdns', '--no-mdns'],
      ['daemon', '--mdns', 'false'],
      ['daemon', '--mdnsInterface', 'eth0'],
      ['daemon', '--home', '/a', '--home', '/b'],
      ['daemon', '--bogus'],
      ['daemon', '--log-format', 'xml'],
      ['daemon', '--log-format'],
      ['daemon', '--version'],
    ]) {
      expect(parseDaemonCommand(argv), argv.join(' ')).toBeUndefined();
    }
  });
});
