import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, initHome, trustedHomePair } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

describe('live config and the config commands', () => {
  let dir: string;
  let home: string;
  let file: string;
  let daemon: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    home = join(dir, 'solo');
    file = join(home, 'config.json');
    await initHome(home, 'solo');
    daemon = await TestDaemon.start({ home, listen: [] });
  });

  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });


  it('applies a live key written by an editor (temp file, then rename) without a restart', async () => {
    const before = daemon.logs.length;
    const current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${file}.swp`, JSON.stringify({ ...current, history: { size: 2 } }));
    renameSync(`${file}.swp`, file);
    const applied = await daemon.waitForLog((l) => l.msg === 'config change applied' && daemon.logs.indexOf(l) >= before, 'the reload');
    expect(applied['keys']).toEqual(['history']);
    expect(applied['trigger']).toBe('file');
    for (const text of ['one', 'two', 'three']) await daemon.cliOk(['copy'], { input: text });
    expect(JSON.parse((await daemon.cliOk(['history', '--json'])).text)).toHaveLength(2);
  });

  it('rejects an invalid change with the key and reason, and keeps the running config', async () => {
    const before = daemon.logs.length;
    writeFileSync(file, JSON.stringify({ history: { size: 'many' } }));
    const rejected = await daemon.waitForLog((l) => l.msg === 'config change rejected; the running config is kept' && daemon.logs.indexOf(l) >= before, 'the rejection');
    expect(rejected['key']).toBe('history.size');
    expect(rejected['reason']).toContain('must be a whole number from 0 to 1000');
    await daemon.cliOk(['copy'], { input: 'four' });
    expect(JSON.parse((await daemon.cliOk(['history', '--json'])).text)).toHaveLength(2);
    // config set refuses to build on a broken file (exit 1: the file is wrong, not the command line).
    const set = await daemon.cli(['config', 'set', 'sendSensitive', 'true']);
    expect(set.code).toBe(1);
    expect(set.stderr).toContain('"history.size"');
  });

  it('reloads on SIGHUP, and names the keys that need a restart', async () => {
    writeFileSync(file, JSON.stringify({ history: { size: 5 }, name: 'renamed', pollIntervalMs: 100 }));
    const before = daemon.logs.length;
    daemon.proc.kill('SIGHUP');
    const restart = await daemon.waitForLog((l) => l.msg === 'config change needs a restart of the daemon to take effect' && l['trigger'] === 'SIGHUP' && daemon.logs.indexOf(l) >= before, 'the restart notice');
    expect(restart['keys']).toEqual(['name', 'pollIntervalMs']);
    expect((await daemon.status()).name).toBe('solo');
    const set = await daemon.cliOk(['config', 'set', 'primary', 'true']);
    expect(set.text).toContain('primary = true in');
    expect(set.text).toContain('needs a restart');
    const live = await daemon.cliOk(['config', 'set', 'sendSensitive', 'true']);
    expect(live.text).toContain('the running daemon applied it');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('config get prints the value in effect, from the file or the default', async () => {
    expect((await daemon.cliOk(['config', 'get', 'history.size'])).text).toBe('5\n');
    expect((await daemon.cliOk(['config', 'get', 'name'])).text).toBe('renamed\n');
    expect(JSON.parse((await daemon.cliOk(['config', 'get', 'history.persist', '--json'])).text)).toEqual({ key: 'history.persist', value: false, source: 'default' });
    expect(JSON.parse((await daemon.cliOk(['config', 'get', 'formats'])).text)).toMatchObject({ extra: [] });
    const unknown = await daemon.cli(['config', 'get', 'pollIntervalMS']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('clipsync: "pollIntervalMS" is not a config key');
    const badValue = await daemon.cli(['config', 'set', 'history.size', '-3']);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('nothing was written');
  });

  it('config check validates a file without a daemon: exit 0, or 1 naming the key', async () => {
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ history: { size: 10, persist: true }, peerRules: { laptop: { formats: ['text/*'] } } }));
    writeFileSync(bad, JSON.stringify({ peerRules: { laptop: { formats: ['text'] } } }));
    const ok = await runCli(['config', 'check', good, '--home', join(dir, 'nowhere')]);
    expect(ok.code).toBe(0);
    expect(ok.text).toBe(`${good}: ok\n`);
    const broken = await runCli(['config', 'check', bad, '--home', join(dir, 'nowhere')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`clipsync: "peerRules.laptop.formats" in ${bad} must be an array of media types or globs`);
    writeFileSync(bad, '{"history": ');
    const notJson = await runCli(['config', 'check', bad, '--home', join(dir, 'nowhere')]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('is not valid JSON');
  });
});

describe('peers added to config.json while running', () => {
  let dir: string;
  const daemons: TestDaemon[] = [];

  beforeAll(() => {
    dir = makeTempDir();
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    removeDir(dir);
  });

  it('are dialed at once; removing one needs a restart', async () => {
    const { homeA, homeB } = await trustedHomePair(dir, {}, {});
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    const b = await TestDaemon.start({ home: homeB, listen: [] });
    daemons.push(b);
    const address = await a.tcpAddress();
    const added = await b.cliOk(['config', 'set', 'peers', JSON.stringify([address])]);
    expect(added.text).toContain('the running daemon applied it');
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
    const removed = await b.cliOk(['config', 'set', 'peers', '[]']);
    expect(removed.text).toContain('needs a restart');
  });
});
