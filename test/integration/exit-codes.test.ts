import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcClient } from '../../src/ipc/client.js';
import { runCli } from '../helpers/cli.js';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * The README's exit codes, tried as a user would meet each failure: 1 error, 2 usage,
 * 3 daemon not running, 4 nothing to paste. Each row is one command line and what it must do.
 */
interface Row {
  args: string[];
  input?: string;
  code: number;
  stderr: RegExp;
}

describe('exit codes against the README table', () => {
  let dir: string;
  let home: string;
  let idle: string;
  let daemon: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    home = join(dir, 'running');
    idle = join(dir, 'not running');
    await initHome(home, 'alone');
    await initHome(idle, 'idle');
    mkdirSync(join(dir, 'a-directory'));
    daemon = await TestDaemon.start({ home });
  });

  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });

  it('refuses a bad --timeout before copying anything (2), and says nobody was reached with no peer (1)', async () => {
    for (const timeout of ['abc', '-5']) {
      const bad = await runCli(['--home', home, 'copy', '--wait', '--timeout', timeout], { input: 'must not be copied' });
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(/--timeout must be a number of seconds/);
    }
    expect((await runCli(['--home', home, 'paste'])).code).toBe(4); // nothing was copied

    // The control API refuses it too, before taking the body.
    const client = new IpcClient(join(home, 'clipsync.sock'));
    await expect(client.json({ method: 'POST', path: '/v1/copy', query: { wait: '1', timeout: 'soon' }, body: Buffer.from('no') })).rejects.toMatchObject({
      code: 'CLIPSYNC_ERR_USAGE',
    });

    const alone = await runCli(['--home', home, 'copy', '--wait'], { input: 'set here anyway' });
    expect(alone.code, alone.stderr).toBe(1);
    expect(alone.stderr).toMatch(/nobody was reached: no peer was connected \(the clip is set here\)/);
    expect((await runCli(['--home', home, 'paste'])).text).toBe('set here anyway');
    // Without --wait nobody was waited for: no error.
    expect((await runCli(['--home', home, 'copy'], { input: 'quiet' })).code).toBe(0);
  });

  it('gives every failure path the code the README gives it', async () => {
    const rows: Row[] = [
      // usage (2)
      { args: ['frobnicate'], code: 2, stderr: /Unknown argument|Unknown command/i },
      { args: ['--home', home, 'copy', join(dir, 'a-directory')], code: 2, stderr: /is not a regular file/ },
      { args: ['--home', idle, 'daemon', '--peer', 'nonsense'], code: 2, stderr: /--peer "nonsense" is not a valid address/ },
      { args: ['--home', idle, 'daemon', '--listen', 'tcp://127.0.0.1'], code: 2, stderr: /--listen .* is not a valid address/ },
      { args: ['--home', home, 'pause', '--for', 'a while'], code: 2, stderr: /./ },
      { args: ['--home', home, 'config', 'set', 'pollIntervalMS', '5'], code: 2, stderr: /did you mean "pollIntervalMs"\?/ },
      { args: ['--home', home, 'config', 'get', 'histroy.size'], code: 2, stderr: /did you mean "history.size"\?/ },
      // errors (1)
      { args: ['--home', home, 'copy', join(dir, 'no-such-file')], code: 1, stderr: /cannot read .*no-such-file/ },
      { args: ['--home', home, 'history', 'get', '99'], code: 1, stderr: /./ },
      { args: ['--home', home, 'daemon', '--clipboard', 'memory', '--listen', 'tcp://127.0.0.1:0', '--no-mdns'], code: 1, stderr: /already running|another daemon/i },
      // daemon not running (3), with a hint that keeps --home
      { args: ['--home', idle, 'status'], code: 3, stderr: /hint: start it with `clipsync --home '.*not running' daemon`/ },
      { args: ['--home', idle, 'paste'], code: 3, stderr: /not running/ },
      { args: ['--home', idle, 'copy'], input: 'x', code: 3, stderr: /not running/ },
      { args: ['--home', idle, 'peers'], code: 3, stderr: /not running/ },
      { args: ['--home', idle, 'transfers'], code: 3, stderr: /not running/ },
      { args: ['--home', idle, 'history'], code: 3, stderr: /not running/ },
      { args: ['--home', idle, 'pause'], code: 3, stderr: /not running/ },
      // nothing to paste (4)
      { args: ['--home', home, 'paste', '--mime', 'image/png'], code: 4, stderr: /./ },
    ];
    for (const row of rows) {
      const result = await runCli(row.args, row.input === undefined ? {} : { input: row.input });
      expect({ args: row.args, code: result.code }, result.stderr).toEqual({ args: row.args, code: row.code });
      expect(result.stderr, row.args.join(' ')).toMatch(row.stderr);
    }
  });

  it('status --json says {"running": false} on stdout when no daemon runs, and still exits 3', async () => {
    const result = await runCli(['--home', idle, 'status', '--json']);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.text)).toEqual({ running: false });
  });

  it('names a near-miss key in config.json with a suggestion (config check exits 1)', async () => {
    const file = join(dir, 'near-miss.json');
    writeFileSync(file, JSON.stringify({ pollIntervalMS: 250 }));
    const result = await runCli(['--home', idle, 'config', 'check', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`unknown key "pollIntervalMS" in ${file} (did you mean "pollIntervalMs"?)`);
  });

  it('top-level help describes the tool, shows examples and points at the README', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.text).toMatch(/^clipsync: copy on one machine, paste on your others/);
    expect(help.text).toMatch(/Examples:\n/);
    expect(help.text).toMatch(/echo hi \| clipsync copy --wait/);
    expect(help.text).toMatch(/README\.md/);
  });
});
