import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { JsonLineProcess, type JsonLine } from '../helpers/json-lines.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

type Status = { running: boolean; peers?: { connected: number }; clip?: { mime: string } | null; paused?: { until: string | null } | null; transfers?: number };
const statusOf = (e: JsonLine): Status | undefined => (e['event'] === 'status' ? (e['status'] as Status) : undefined);

describe('status --watch and --format', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;
  const watchers: JsonLineProcess[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    ({ a, b } = await startTrustedPair(dir));
  });

  afterAll(async () => {
    for (const w of watchers) w.child.kill('SIGINT');
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('follows a daemon from before it starts until after it stops, a JSON line per change', async () => {
    const home = join(dir, 'solo');
    await runCli(['init', '--home', home, '--name', 'solo']);
    const watch = new JsonLineProcess('status --watch', spawn(process.execPath, [CLI_ENTRY, '--home', home, 'status', '--watch', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    watchers.push(watch);
    await watch.waitForEvent((e) => statusOf(e)?.running === false, 'not running yet');

    const solo = await TestDaemon.start({ home });
    const up = await watch.waitForEvent((e) => statusOf(e)?.running === true, 'the daemon up');
    expect(statusOf(up)).toMatchObject({ peers: { connected: 0 }, clip: null, paused: null, transfers: 0 });

    let since = watch.mark();
    await solo.cliOk(['copy'], { input: 'watched' });
    await watch.waitForEvent((e) => statusOf(e)?.clip?.mime === 'text/plain;charset=utf-8', 'the clip', { since });
    since = watch.mark();
    await solo.cliOk(['pause', '--for', '10m']);
    const paused = await watch.waitForEvent((e) => statusOf(e)?.paused?.until !== undefined && statusOf(e)?.paused !== null, 'the pause', { since });
    expect(statusOf(paused)?.paused?.until).toMatch(/^\d{4}-/);

    since = watch.mark();
    await solo.stop();
    await watch.waitForEvent((e) => statusOf(e)?.running === false, 'the daemon gone', { since });
    expect(watch.alive).toBe(true); // it waits for the daemon to come back
  });

  it('tells a watcher of a refused peer and of a pairing request with its code, as notices', async () => {
    const watch = new JsonLineProcess('a status --watch', spawn(process.execPath, [CLI_ENTRY, '--home', a.home, 'status', '--watch', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    watchers.push(watch);
    await watch.waitForEvent((e) => statusOf(e)?.running === true, 'the first status');
    const home = join(dir, 'stranger');
    await runCli(['init', '--home', home, '--name', 'stranger']);
    const stranger = await TestDaemon.start({ home, listen: [], peers: [await a.tcpAddress()] });
    try {
      const notice = await watch.waitForEvent((e) => e['event'] === 'notice' && e['kind'] === 'refused', 'the refusal notice');
      expect(notice['message']).toMatch(/^this machine does not trust stranger's key SHA256:/);
      expect(notice['name']).toBe('stranger');

      // A pairing request from the stranger: the request, then a notice with its code.
      const pair = spawn(process.execPath, [CLI_ENTRY, '--home', home, 'pair', await a.tcpAddress(), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const request = await watch.waitForEvent((e) => e['event'] === 'pairing' && (e['request'] as { code: string | null }).code !== null, 'the pairing request');
      const code = (request['request'] as { code: string }).code;
      const asked = await watch.waitForEvent((e) => e['event'] === 'notice' && e['kind'] === 'pairing', 'the pairing notice');
      expect(asked['message']).toContain(`code ${code}`);
      await watch.waitForEvent((e) => (statusOf(e) as { pairingPending?: number } | undefined)?.pairingPending === 1, 'pairingPending in status');
      pair.kill();
    } finally {
      await stranger.stop();
    }
  });

  it('tells a watcher of a clip received from a peer', async () => {
    const watch = new JsonLineProcess('b status --watch', spawn(process.execPath, [CLI_ENTRY, '--home', b.home, 'status', '--watch', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    watchers.push(watch);
    await watch.waitForEvent((e) => statusOf(e)?.running === true, 'the first status');
    await a.cliOk(['copy', '--wait'], { input: 'hello beta' });
    const notice = await watch.waitForEvent((e) => e['event'] === 'notice' && e['kind'] === 'received', 'the received notice');
    expect(notice['message']).toBe('a clip from alpha: hello beta');
  });

  it('gives waybar, i3blocks and xbar output for a daemon with a peer, and for none running', async () => {
    const bar = JSON.parse((await a.cliOk(['status', '--format', 'waybar'])).text) as Record<string, string>;
    expect(bar).toMatchObject({ text: 'clipsync 1', class: 'idle', alt: 'idle' });
    expect(bar['tooltip']).toMatch(/^1 peer connected of \d+ known/);

    const i3 = (await a.cliOk(['status', '--format', 'i3blocks'])).text.split('\n');
    expect(i3[0]).toMatch(/^clipsync 1: 1 peer connected of \d+ known$/);
    expect(i3.slice(1, 3)).toEqual(['clipsync 1', '#A3BE8C']);

    await a.cliOk(['copy'], { input: 'for the menu' });
    const menu = (await a.cliOk(['status', '--format', 'xbar'])).text.split('\n');
    expect(menu[0]).toBe('clipsync 1');
    expect(menu[1]).toBe('---');
    expect(menu.find((l) => l.startsWith('Pause sync | '))).toContain(`param4="pause" terminal=false refresh=true`);
    expect(menu.find((l) => l.startsWith('--for the menu | '))).toContain('param4="history" param5="get" param6="1"');

    const none = await runCli(['--home', join(dir, 'nobody'), 'status', '--format', 'waybar']);
    expect(none.code).toBe(3);
    expect(JSON.parse(none.text)).toMatchObject({ text: 'clipsync off', class: 'error' });
    const bad = await a.cli(['status', '--format', 'polybar']);
    expect(bad.code).toBe(2);
  });
});
