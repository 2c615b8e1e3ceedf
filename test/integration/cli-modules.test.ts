import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../helpers/cli.js';
import { TestDaemon } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * Editors run `copy` and `paste` on every yank, status bars run `status` every few seconds:
 * client commands must load only what they use. Each command runs here against a real daemon
 * with a loader hook (test/fixtures/module-log) that records every module it loads, so a
 * stray import of the daemon's side cannot creep back in unnoticed.
 */

const REGISTER = fileURLToPath(new URL('../fixtures/module-log/register.mjs', import.meta.url));
const REQUIRE_LOG = fileURLToPath(new URL('../fixtures/module-log/require-log.cjs', import.meta.url));

/** What no client command may load: the daemon's half, its dependencies, and yargs (plain forms skip it). */
const FORBIDDEN = [
  /\/node_modules\/ssh2\//,
  /\/node_modules\/pino/,
  /\/node_modules\/sodium-native\//,
  /\/node_modules\/@napi-rs\/blake-hash/,
  /\/node_modules\/ws\//,
  /\/node_modules\/bonjour-service\//,
  /\/node_modules\/x11\//,
  /\/node_modules\/yargs/,
  /\/dist\/(daemon|sync|protocol|spool|secure|identity|peers|discovery|clipboard|transport\/(?!unix-socket))\//,
];

interface Run {
  code: number;
  stdout: string;
  modules: string[];
}

describe('client commands load only what they use', () => {
  let dir: string;
  let daemon: TestDaemon;
  let n = 0;

  beforeAll(async () => {
    dir = makeTempDir();
    daemon = await TestDaemon.start({ home: join(dir, 'home') });
  });
  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });

  function run(args: string[], input = ''): Promise<Run> {
    const log = join(dir, `modules-${++n}.txt`);
    writeFileSync(log, '');
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', REGISTER, '--require', REQUIRE_LOG, CLI_ENTRY, ...args, '--home', daemon.home], {
        env: { ...process.env, CLIPSYNC_MODULE_LOG: log },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, modules: readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') }));
      child.stdin.end(input);
    });
  }

  function forbiddenIn(modules: string[]): string[] {
    return modules.filter((url) => FORBIDDEN.some((pattern) => pattern.test(url)));
  }

  it.each([
    ['copy (stdin)', ['copy'], 'yanked text', 0],
    // This daemon has no peers: --wait reached nobody, which is exit 1 (the copy itself ran).
    ['copy FILE --wait --json', ['copy', CLI_ENTRY, '--wait', '--json'], '', 1],
    ['paste', ['paste'], '', 0],
    ['paste --list --json', ['paste', '--list', '--json'], '', 0],
    ['status', ['status'], '', 0],
    ['status --json', ['status', '--json'], '', 0],
    ['peers --json', ['peers', '--json'], '', 0],
    ['transfers', ['transfers'], '', 0],
  ] as const)('%s', async (_what, args, input, code) => {
    const result = await run([...args], input);
    expect(result.code).toBe(code);
    // The hooks saw the run (the CLI's own modules at least), so an empty list cannot pass; and
    // the plain commands ran from the CommonJS build, without the ES module CLI.
    expect(result.modules.some((url) => url.endsWith('/dist/client/cli/client-main.js'))).toBe(true);
    expect(result.modules.filter((url) => url.includes('/dist/cli/'))).toEqual([]);
    expect(forbiddenIn(result.modules)).toEqual([]);
  });

  it('catches a daemon module when one is loaded (the check itself works)', async () => {
    // `daemon --help` goes through yargs and every command module: the check must see that.
    const result = await run(['daemon', '--help']);
    expect(result.code).toBe(0);
    expect(forbiddenIn(result.modules).length).toBeGreaterThan(0);
  });

  it('stop', async () => {
    const result = await run(['stop', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ stopped: true, pid: expect.any(Number) });
    expect(forbiddenIn(result.modules)).toEqual([]);
  });
});
