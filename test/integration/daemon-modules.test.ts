import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * What a daemon loads stays in its memory for as long as it runs: an idle daemon must not
 * hold what its configuration does not use (the idle RSS target, docs/BENCHMARKS.md). A real
 * `clipsync daemon` runs here with the loader hook of test/fixtures/module-log, which records
 * every module it loads.
 */

const REGISTER = fileURLToPath(new URL('../fixtures/module-log/register.mjs', import.meta.url));

describe('an idle daemon loads only what its configuration uses', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('memory clipboard, no mDNS: no yargs, no clipboardy, no desktop backend, no mDNS code', async () => {
    const log = join(dir, 'modules.txt');
    writeFileSync(log, '');
    const daemon = await TestDaemon.start({ home: join(dir, 'home'), clipboard: 'memory', nodeArgs: ['--import', REGISTER], env: { CLIPSYNC_MODULE_LOG: log } });
    await daemon.stop();
    const modules = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    // The hook saw the daemon (so an empty list cannot pass).
    expect(modules.some((url) => url.endsWith('/dist/daemon/run-daemon.js'))).toBe(true);
    const unwanted = [
      /\/node_modules\/yargs/,
      /\/node_modules\/clipboardy\//,
      /\/node_modules\/bonjour-service\//,
      /\/node_modules\/x11\//,
      /\/dist\/clipboard\/(x11|wayland|macos)\//,
      /\/dist\/clipboard\/text-backend\.js/,
      /\/dist\/discovery\/mdns/,
      /\/dist\/cli\/commands\/(?!daemon-command)/,
    ];
    expect(modules.filter((url) => unwanted.some((pattern) => pattern.test(url)))).toEqual([]);
  });
});
