import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

interface CopyResult {
  peers: { name: string; status: string; detail?: string }[];
}

interface Paused {
  since: string;
  until: string | null;
}

async function pausedOf(daemon: TestDaemon): Promise<Paused | null> {
  return ((await daemon.status()) as unknown as { paused: Paused | null }).paused;
}

describe('pause and resume', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    ({ a, b } = await startTrustedPair(dir));
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('declines what a peer sends while paused, and its copy --wait says skipped, not failed', async () => {
    await a.cliOk(['copy', '--wait'], { input: 'before the pause' });
    const paused = JSON.parse((await b.cliOk(['pause', '--json'])).text) as { paused: Paused };
    expect(paused.paused.until).toBeNull();
    expect(await pausedOf(b)).toEqual(paused.paused);
    expect((await b.cliOk(['status'])).text).toMatch(/paused: +since .*until `clipsync resume`/);
    const sent = await a.cliOk(['copy', '--wait', '--json'], { input: 'during the pause' });
    const result = JSON.parse(sent.text) as CopyResult;
    expect(result.peers).toEqual([expect.objectContaining({ name: 'beta', status: 'skipped', detail: 'sync is paused on the receiver' })]);
    expect((await b.cliOk(['paste'])).text).toBe('before the pause');
    const plain = await a.cliOk(['copy', '--wait'], { input: 'during the pause, again' });
    expect(plain.stderr).toContain('skipped beta: sync is paused on the receiver');
  });

  it('sends nothing while paused, not even later: a copy made during the pause stays here', async () => {
    const result = JSON.parse((await b.cliOk(['copy', '--wait', '--json'], { input: 'private to beta' })).text) as CopyResult;
    expect(result.peers).toEqual([expect.objectContaining({ status: 'skipped', detail: 'not sent: sync is paused here (clipsync resume)' })]);
    expect((await b.cliOk(['history', '--json'])).text).not.toContain('private to beta');
    expect(JSON.parse((await b.cliOk(['resume', '--json'])).text)).toEqual({ paused: null });
    expect(await pausedOf(b)).toBeNull();
    // A reconnect offers the current clip to the peer; not this one.
    const address = await a.tcpAddress();
    await a.stop();
    await b.waitConnected(0);
    a = await TestDaemon.start({ home: a.home, listen: [address] });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
    await b.waitForLog((l) => l.msg === 'current clip was copied while paused; not offered to a new peer', 'beta to hold back the paused copy');
    // alpha's memory clipboard started empty, and beta had nothing else to offer it.
    expect((await a.cli(['paste'])).code).toBe(4);
    // After resuming, sync works both ways again.
    await b.cliOk(['copy', '--wait'], { input: 'after the pause' });
    expect((await a.cliOk(['paste'])).text).toBe('after the pause');
  });

  it('ends a pause --for by itself, and resume answers also when not paused', async () => {
    const paused = JSON.parse((await a.cliOk(['pause', '--for', '1.5s', '--json'])).text) as { paused: Paused };
    expect(Date.parse(paused.paused.until!) - Date.parse(paused.paused.since)).toBe(1500);
    expect((await a.cliOk(['status'])).text).toMatch(/paused: +since .*until .*\(in \d+s\)/);
    await a.waitForLog((l) => l.msg === 'sync resumed', 'the pause to end by itself');
    expect(await pausedOf(a)).toBeNull();
    expect((await a.cliOk(['resume'])).text).toContain('sync resumed');
  });

  it('refuses a duration that is not one, with exit 2', async () => {
    for (const bad of ['abc', '0', '10x', '1h-5m']) {
      const result = await a.cli(['pause', '--for', bad]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toContain(`clipsync: "${bad}" is not a duration`);
      expect(result.stderr).toContain('hint: give one like 90s, 10m, 1h, 1h30m, or plain seconds');
    }
    expect(await pausedOf(a)).toBeNull();
  });
});
