import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, initHome, mergeConfig, startTrustedPair } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** One element of `history --json` (docs/CONTROL-API.md GET /v1/history). */
interface HistoryItem {
  n: number;
  id: string;
  mime: string;
  size: number;
  origin: string;
  originName: string | null;
  local: boolean;
  preview: string;
  copiedAt: string;
}

async function history(daemon: TestDaemon): Promise<HistoryItem[]> {
  return JSON.parse((await daemon.cliOk(['history', '--json'])).text) as HistoryItem[];
}

async function copyWait(daemon: TestDaemon, content: Buffer | string): Promise<{ peers: { status: string; detail?: string }[] }> {
  return JSON.parse((await daemon.cliOk(['copy', '--wait', '--json'], { input: content })).text) as { peers: { status: string; detail?: string }[] };
}

describe('clip history between two daemons', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    // beta announces clips over 16 KiB instead of fetching them, to list one not fetched yet.
    ({ a, b } = await startTrustedPair(dir, { configB: { eagerLimitBytes: 16 * 1024 } }));
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('lists copies made here and clips received, newest first, with origin and preview', async () => {
    await copyWait(a, 'first clip');
    await copyWait(a, 'second\tclip\r\n\n  with\u0007bell');
    const onB = await history(b);
    expect(onB.map((h) => h.n)).toEqual([1, 2]);
    expect(onB[0]).toMatchObject({ originName: 'alpha', local: true, preview: 'second clip with?bell', mime: 'text/plain;charset=utf-8' });
    expect(onB[1]).toMatchObject({ originName: 'alpha', preview: 'first clip' });
    const onA = await history(a);
    expect(onA[0]).toMatchObject({ originName: null, local: true, preview: 'second clip with?bell' });
    const table = (await b.cliOk(['history'])).text;
    expect(table).toMatch(/^N\s+AGE\s+SIZE\s+MIME\s+FROM\s+PREVIEW/);
    expect(table).toContain('alpha');
  });

  it('history get N makes an older clip current again, here and on the peer', async () => {
    const got = JSON.parse((await b.cliOk(['history', 'get', '2', '--json'])).text) as HistoryItem;
    expect(got).toMatchObject({ n: 1, preview: 'first clip', local: true });
    expect((await b.cliOk(['paste'])).text).toBe('first clip');
    await waitFor(async () => (await a.cliOk(['paste'])).text === 'first clip', { what: 'alpha to receive the clip from the history' });
    // Seen again: it moved to the front rather than being listed twice.
    expect((await history(b)).map((h) => h.preview)).toEqual(['first clip', 'second clip with?bell']);
  });

  it('lists an announced clip as not fetched, and history get fetches it first', async () => {
    const big = randomBytes(40 * 1024);
    const copied = await copyWait(a, big);
    expect(copied.peers[0]).toMatchObject({ status: 'delivered', detail: 'announced; the bytes move when it is pasted' });
    const [announced] = await history(b);
    expect(announced).toMatchObject({ local: false, size: big.length, preview: '', originName: 'alpha' });
    expect((await b.cliOk(['history'])).text).toContain('(not fetched)');
    await b.cliOk(['history', 'get', '1']);
    expect((await b.cliOk(['paste'])).stdout.equals(big)).toBe(true);
    expect((await history(b))[0]).toMatchObject({ id: announced!.id, local: true });
  });

  it('says what is wrong with a bad number, and clear forgets everything', async () => {
    const count = (await history(b)).length;
    const missing = await b.cli(['history', 'get', '99']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`clipsync: there is no clip 99 in the history (it holds ${count})`);
    expect(missing.stderr).toContain('hint: ');
    const notNumber = await b.cli(['history', 'get', 'abc']);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toContain('"abc" is not a clip number');
    const cleared = JSON.parse((await b.cliOk(['history', 'clear', '--json'])).text) as { cleared: number };
    expect(cleared.cleared).toBe(count);
    expect(await history(b)).toEqual([]);
    expect((await b.cliOk(['history'])).text).toContain('no clips in the history yet');
  });

  it('fails history get of an announced clip with exit 5 when its holder is gone', async () => {
    const big = randomBytes(20 * 1024);
    await copyWait(a, big);
    expect((await history(b))[0]).toMatchObject({ local: false });
    await a.stop();
    await b.waitConnected(0);
    const result = await b.cli(['history', 'get', '1']);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('not connected');
  });
});

describe('history.size and history.persist', () => {
  let dir: string;
  let daemon: TestDaemon | undefined;

  beforeAll(() => {
    dir = makeTempDir();
  });

  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });

  it('keeps only the last history.size clips, and a persisted history (0600) survives a restart', async () => {
    const home = join(dir, 'solo');
    await initHome(home, 'solo');
    // Spool files not in use are removed at start: the history's must survive that (it pins them).
    mergeConfig(home, { history: { size: 3, persist: true }, spoolMaxAgeMs: 1 });
    daemon = await TestDaemon.start({ home, listen: [] });
    const large = randomBytes(200 * 1024); // over the inline size: kept in the spool while remembered
    for (const text of ['one', 'two', 'three', 'four']) await daemon.cliOk(['copy'], { input: text });
    await daemon.cliOk(['copy', '--mime', 'application/octet-stream'], { input: large });
    expect((await history(daemon)).map((h) => h.preview)).toEqual(['', 'four', 'three']);
    await daemon.stop();
    const file = join(home, 'history.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    daemon = await TestDaemon.start({ home, listen: [] });
    await daemon.waitForLog((l) => l.msg === 'spool cleaned up' || l.msg === 'spool clean-up found nothing to remove', 'the clean-up at start');
    const restored = await history(daemon);
    expect(restored.map((h) => h.preview)).toEqual(['', 'four', 'three']);
    expect(restored[0]).toMatchObject({ size: large.length, local: true });
    await daemon.cliOk(['history', 'get', '3']);
    expect((await daemon.cliOk(['paste'])).text).toBe('three');
    await daemon.cliOk(['history', 'get', '2']); // the large one, now second
    expect((await daemon.cliOk(['paste'])).stdout.equals(large)).toBe(true);
  });
});
