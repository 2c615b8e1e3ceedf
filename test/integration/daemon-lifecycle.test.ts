import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processGone } from '../../src/cli/process-gone.js';
import { CLI_ENTRY, runCli, runCliOk } from '../helpers/cli.js';
import { TestDaemon, type StatusJson } from '../helpers/daemon.js';
import { childOutputWaiters } from '../helpers/output-waiters.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAEMON_ARGS = ['--clipboard', 'memory', '--no-mdns', '--listen', 'tcp://127.0.0.1:0'];

/** A child's stderr, line by line, with a way to wait for a line. */
function stderrLines(child: ChildProcess): { lines: string[]; waitFor: (match: RegExp) => Promise<string> } {
  const lines: string[] = [];
  const waiters = childOutputWaiters(child, (message) => new Error(`${message}:\n${lines.join('\n')}`));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines.push(line);
    waiters.wake();
  });
  return { lines, waitFor: (match) => waiters.until(() => lines.find((l) => match.test(l)), `a line matching ${match}`) };
}

describe('daemon lifecycle', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dir = makeTempDir('cs-life-');
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    removeDir(dir);
  });

  it('`stop` returns only once the daemon process is gone', async () => {
    const daemon = await TestDaemon.start({ home: join(dir, 'a') });
    const { pid } = (await daemon.status()) as StatusJson & { pid: number };
    expect(daemon.proc.pid).toBe(pid);
    const stopped = await daemon.cliOk(['stop', '--json']);
    expect(processGone(pid)).toBe(true);
    expect(JSON.parse(stopped.text)).toEqual({ stopped: true, pid });
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    const again = await daemon.cli(['stop']);
    expect(again.code).toBe(3);
  });

  it('stops with `npm start` when npm gets SIGTERM, and when npm is killed outright', async () => {
    if (skipUnlessTools({ npm: 'npm' })) return;
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const home = join(dir, signal);
      const npm = spawn('npm', ['start', '--silent', '--', '--home', home, ...DAEMON_ARGS], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'info' } });
      children.push(npm);
      const log = stderrLines(npm);
      await log.waitFor(/"msg":"daemon ready"/);
      const status = JSON.parse((await runCliOk(['status', '--json', '--home', home])).text) as { pid: number };
      expect(status.pid).not.toBe(npm.pid);
      npm.kill(signal);
      // SIGTERM: npm hands it to node (the start script execs it: no shell in between to drop it).
      // SIGKILL: nothing is handed on; the daemon sees its parent gone within seconds and stops.
      await waitFor(() => processGone(status.pid), { what: `the daemon (pid ${status.pid}) to exit after npm got ${signal}`, intervalMs: 50 });
      expect((await runCli(['status', '--home', home])).code).toBe(3);
    }
  });

  it('a SIGTERM during start-up ends in a clean stop: exit 0, socket and pid file removed', async () => {
    const home = join(dir, 'early');
    const child = spawn(process.execPath, [CLI_ENTRY, 'daemon', '--home', home, ...DAEMON_ARGS], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'info' } });
    children.push(child);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    const log = stderrLines(child);
    await log.waitFor(/"msg":"created a new identity"/); // the first line: set-up has only begun
    child.kill('SIGTERM');
    await log.waitFor(/"msg":"daemon stopped"/);
    expect(await exited).toEqual([0, null]);
    expect(existsSync(join(home, 'clipsync.sock'))).toBe(false);
    expect(existsSync(join(home, 'clipsync.pid'))).toBe(false);
  });

  it('--log-format pretty writes one short line per record; json (and the default off a terminal) JSON lines', async () => {
    const start = (home: string, format: string[]): ChildProcess => {
      const child = spawn(process.execPath, [CLI_ENTRY, 'daemon', '--home', home, ...DAEMON_ARGS, ...format], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'info' } });
      children.push(child);
      return child;
    };
    const pretty = start(join(dir, 'p'), ['--log-format', 'pretty']);
    const prettyLog = stderrLines(pretty);
    const ready = await prettyLog.waitFor(/daemon ready/);
    expect(ready).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  daemon: daemon ready name=\S+ fingerprint=SHA256:\S{10}… listen=\[tcp:\/\/127\.0\.0\.1:\d+\] peers=\[\] clipboard=memory clipboardReason="chosen with --clipboard memory" /);
    pretty.kill('SIGTERM');
    await prettyLog.waitFor(/INFO {2}daemon: daemon stopped$/);
    expect(prettyLog.lines.every((l) => !l.startsWith('{'))).toBe(true);

    // The `=` form goes through yargs rather than the daemon's own parser: both take the flag.
    for (const format of [['--log-format=json'], []]) {
      const json = start(join(dir, `j${format.length}`), format);
      const jsonLog = stderrLines(json);
      const line = JSON.parse(await jsonLog.waitFor(/daemon ready/)) as { level: number; msg: string; component: string };
      expect(line).toMatchObject({ level: 30, msg: 'daemon ready', component: 'daemon' });
      json.kill('SIGTERM');
      await new Promise((resolve) => json.once('exit', resolve));
    }

    const bad = await runCli(['daemon', '--home', join(dir, 'x'), '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^clipsync: Invalid values:\n  Argument: log-format, Given: "xml", Choices: "pretty", "json"\nhint: /);
  });
});
