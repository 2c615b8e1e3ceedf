import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../helpers/cli.js';
import { TestDaemon, initHome, mergeConfig, trust } from '../helpers/daemon.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { QUICK_RECONNECT, pastedSha, randomClipFile, startProxiedPair, transfersOf, type ProxiedPair } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

describe('a stalled peer does not hold up the others', () => {
  let dir: string;
  const daemons: TestDaemon[] = [];
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    daemons.length = 0;
    await proxy?.close();
    removeDir(dir);
  });

  it('delivers to a healthy peer while another peer’s connection is stalled', async () => {
    dir = makeTempDir();
    const [hub, slow, fast] = ['hub', 'slow', 'fast'].map((n) => join(dir, n)) as [string, string, string];
    for (const [home, name] of [
      [hub, 'hub'],
      [slow, 'slow'],
      [fast, 'fast'],
    ] as const) {
      await initHome(home, name);
      mergeConfig(home, { ...QUICK_RECONNECT, spoolThresholdBytes: MiB });
    }
    for (const other of [slow, fast]) {
      await trust(hub, other);
      await trust(other, hub);
    }
    const hubDaemon = await TestDaemon.start({ home: hub, listen: [`unix:${hub}/peer.sock`] });
    daemons.push(hubDaemon);
    proxy = await FaultProxy.start(`unix:${hub}/peer.sock`, { listenPath: join(dir, 'proxy.sock') });
    daemons.push(await TestDaemon.start({ home: slow, listen: [], peers: [proxy.address] }));
    const fastDaemon = await TestDaemon.start({ home: fast, listen: [], peers: [`unix:${hub}/peer.sock`] });
    daemons.push(fastDaemon);
    await hubDaemon.waitConnected(2);

    proxy.stall(); // the hub's sends to "slow" stop moving; its socket buffers fill up
    const clip = randomClipFile(dir, 'clip.bin', 16 * MiB);
    const copying = hubDaemon.cli(['copy', clip.path, '--wait', '--timeout', '5']);
    // "fast" gets the whole clip while "slow" is stuck.
    await waitFor(async () => (await pastedSha(fastDaemon).catch(() => '')) === clip.sha256, { what: 'fast receiving the clip', timeoutMs: 60_000 });
    const result = await copying;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not delivered to slow/);
    expect(result.stderr).not.toMatch(/fast/);
  });
});

describe('graceful shutdown mid-transfer', () => {
  let dir: string;
  let pair: ProxiedPair;
  afterEach(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  it('says goodbye with 1001, removes the control socket, keeps the partial clip and resumes after restart', async () => {
    dir = makeTempDir();
    pair = await startProxiedPair(dir, { configA: { spoolThresholdBytes: MiB }, configB: { spoolThresholdBytes: MiB } });
    const { b, proxy } = pair;
    const clip = randomClipFile(dir, 'clip.bin', 20 * MiB);
    proxy.slowReader(4 * MiB, 'toServer');
    const copying = b.cli(['copy', clip.path, '--wait', '--timeout', '120']);
    await waitFor(async () => (await transfersOf(pair.a)).some((t) => t.bytes >= 9 * MiB), { what: 'alpha holding 9 MiB', timeoutMs: 60_000 });

    const stopped = await pair.a.cli(['stop']);
    expect(stopped.code).toBe(0);
    const exit = await pair.a.exited;
    expect(exit.code).toBe(0);
    expect(existsSync(join(pair.a.home, 'clipsync.sock'))).toBe(false);
    const goodbye = await b.waitForLog((l) => l.msg === 'peer disconnected' && l['code'] === 1001, 'beta seeing 1001');
    expect(goodbye['reason']).toBe('peer is shutting down');

    proxy.slowReader(null);
    const a = await pair.restartA();
    const result = await copying;
    expect(result.code, result.stderr).toBe(0);
    expect(await pastedSha(a)).toBe(clip.sha256);
    const resumed = await a.waitForLog((l) => l.msg === 'resuming a transfer', 'alpha resuming');
    expect(resumed['offset']).toBeGreaterThanOrEqual(8 * MiB);
  });
});

describe('copy --wait on a terminal', () => {
  let dir: string;
  let pair: ProxiedPair;
  afterEach(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  it('draws a progress bar on a TTY and ends with the summary', async () => {
    dir = makeTempDir();
    pair = await startProxiedPair(dir);
    pair.proxy.slowReader(4 * MiB, 'toServer');
    const clip = randomClipFile(dir, 'clip.bin', 6 * MiB);
    // script(1) gives the CLI a pseudo-terminal, as a person at a shell has.
    const command = `${process.execPath} ${CLI_ENTRY} copy ${clip.path} --wait --home ${pair.b.home}`;
    const { stdout } = await promisify(execFile)('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' } });
    expect(stdout).toMatch(/\[#+\.*\] +\d+%/);
    expect(stdout).toMatch(/→ alpha/);
    expect(stdout).toMatch(/copied 6291456 bytes; 1 of 1 peers have it/);
    expect(await pastedSha(pair.a)).toBe(clip.sha256);
  });
});
