import { describe, expect, it } from 'vitest';
import { parseFastCommand } from '../../../src/cli/fast-path.js';

/*
 * The fast path takes only the plain forms of `paste` and `status`; everything else goes to
 * yargs, so help, errors and every other command behave exactly as before.
 */
describe('parseFastCommand', () => {
  it('takes copy in its plain forms: one FILE (or - for stdin), --mime, --wait, --timeout, --json, --home', () => {
    expect(parseFastCommand(['copy'])).toEqual({ command: 'copy', args: {} });
    expect(parseFastCommand(['copy', 'a.txt', '--wait', '--timeout', '5'])).toEqual({ command: 'copy', args: { file: 'a.txt', wait: true, timeout: 5 } });
    expect(parseFastCommand(['copy', '--mime', 'image/png', '-', '--json'])).toEqual({ command: 'copy', args: { mime: 'image/png', file: '-', json: true } });
  });

  it('takes copy --files PATH… (every word up to the next option) and paste --to DIR', () => {
    expect(parseFastCommand(['copy', '--files', 'a', 'b c', '--wait'])).toEqual({ command: 'copy', args: { files: ['a', 'b c'], wait: true } });
    expect(parseFastCommand(['copy', '--json', '--files', '/x/y'])).toEqual({ command: 'copy', args: { json: true, files: ['/x/y'] } });
    // FILE with --files is a usage error copy itself reports, as it does after yargs
    expect(parseFastCommand(['copy', 'f', '--files', 'a'])).toEqual({ command: 'copy', args: { file: 'f', files: ['a'] } });
    expect(parseFastCommand(['paste', '--to', '/dst'])).toEqual({ command: 'paste', args: { to: '/dst' } });
  });

  it('takes paste and status in their plain forms', () => {
    expect(parseFastCommand(['paste'])).toEqual({ command: 'paste', args: {} });
    expect(parseFastCommand(['paste', '--mime', 'text/html', '--home', '/h'])).toEqual({ command: 'paste', args: { mime: 'text/html', home: '/h' } });
    expect(parseFastCommand(['paste', '--list', '--json'])).toEqual({ command: 'paste', args: { list: true, json: true } });
    expect(parseFastCommand(['status', '--json', '--home', '/h'])).toEqual({ command: 'status', args: { json: true, home: '/h' } });
  });

  it('takes peers, transfers and stop in their plain forms', () => {
    expect(parseFastCommand(['peers'])).toEqual({ command: 'peers', args: {} });
    expect(parseFastCommand(['peers', '--json', '--home', '/h'])).toEqual({ command: 'peers', args: { json: true, home: '/h' } });
    expect(parseFastCommand(['transfers', '--watch', '--json'])).toEqual({ command: 'transfers', args: { watch: true, json: true } });
    expect(parseFastCommand(['stop', '--json'])).toEqual({ command: 'stop', args: { json: true } });
  });

  it('leaves everything else to yargs', () => {
    for (const argv of [
      [],
      ['copy', 'a', 'b'],
      ['copy', '--timeout', 'soon'],
      ['copy', '-w'],
      ['copy', '--wait=true'],
      ['copy', '--files'],
      ['copy', '--files', '--wait'],
      ['copy', '--files', 'a', '--files', 'b'],
      ['copy', '--files', '-'],
      ['paste', '--to'],
      ['paste', '--help'],
      ['paste', '-h'],
      ['paste', '--mime=text/html'],
      ['paste', '--mime'],
      ['paste', '--mime', '--json'],
      ['paste', '--json', '--json'],
      ['paste', 'extra'],
      ['paste', '--bogus'],
      ['status', '--list'],
      ['status', '--mime', 'x/y'],
      ['--version'],
      ['peers', '--list'],
      ['transfers', '--watch', 'x'],
      ['stop', '--now'],
      ['trust', 'key'],
      ['toString'],
    ]) {
      expect(parseFastCommand(argv), argv.join(' ')).toBeUndefined();
    }
  });
});
