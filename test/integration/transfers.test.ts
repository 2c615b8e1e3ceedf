import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { pastedSha, randomClipFile, startProxiedPair, transfersOf, waitNoTransfers, type ProxiedPair } from '../helpers/proxied-pair.js';

const MiB = 1024 * 1024;

describe('transfers: progress, supersede, resume', () => {
  let dir: string;
  let pair: ProxiedPair;

  beforeEach(async () => {
    dir = makeTempDir();
    // A low spool threshold, so that clips of a few MiB already travel through the spool.
    pair = await startProxiedPair(dir, { configA: { spoolThresholdBytes: MiB }, configB: { spoolThresholdBytes: MiB } });
  });
  afterEach(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  it('shows a transfer in flight in `transfers --json` and `peers --json`, then delivers it byte-exact', async () => {
    const { a, b, proxy } = pair;
    const clip = randomClipFile(dir, 'clip.bin', 6 * MiB);
    // Slow enough that the transfer is still in flight when both CLIs have looked, however
    // slowly they start on a loaded machine (a CLI call can take a second there); lifted after.
    proxy.slowReader(512 * 1024, 'toServer');
    const copying = b.cli(['copy', clip.path, '--wait', '--json']);

    const receiving = await waitFor(async () => (await transfersOf(a)).find((t) => t.direction === 'receive' && t.bytes > 0), {
      what: 'alpha receiving',
    });
    expect(receiving).toMatchObject({ direction: 'receive', name: 'beta', total: clip.size });
    const peersB = JSON.parse((await b.cliOk(['peers', '--json'])).text) as { name: string; transfers: { id: string; direction: string; bytes: number; total: number; rate: number }[] }[];
    const sending = peersB.find((p) => p.name === 'alpha')?.transfers[0];
    expect(sending).toMatchObject({ id: receiving.id, direction: 'send', total: clip.size });
    expect(typeof sending?.rate).toBe('number');
    expect(sending!.bytes).toBeGreaterThan(0);

    proxy.slowReader(null);
    const result = await copying;
    expect(result.code).toBe(0);
    // Not a terminal: no progress bar on stderr, the JSON result on stdout.
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.text)).toMatchObject({ size: clip.size, peers: [{ name: 'alpha', status: 'delivered' }] });
    expect(await pastedSha(a)).toBe(clip.sha256);
    await waitNoTransfers(a);
    await waitNoTransfers(b);
  });

  it('cancels a transfer in flight on both sides when a newer clip is copied', async () => {
    const { a, b, proxy } = pair;
    const big = randomClipFile(dir, 'big.bin', 8 * MiB);
    proxy.slowReader(2 * MiB, 'toServer');
    const first = b.cli(['copy', big.path, '--wait']);
    await waitFor(async () => (await transfersOf(a)).some((t) => t.bytes > 0), { what: 'alpha receiving the big clip' });

    // Still throttled: the small clip queues behind at most a window of the big one.
    await b.cliOk(['copy', '--wait'], { input: 'newer and small' });
    expect((await a.cliOk(['paste'])).text).toBe('newer and small');
    const superseded = await first;
    expect(superseded.code).toBe(1);
    expect(superseded.stderr).toMatch(/superseded by a newer clip/);
    await waitNoTransfers(a);
    await waitNoTransfers(b);
    expect((await a.cliOk(['paste'])).text).toBe('newer and small');
  });

  it('resumes from where it was cut, not from zero, and `copy --wait` still succeeds', async () => {
    const { a, b, proxy } = pair;
    const clip = randomClipFile(dir, 'resume.bin', 12 * MiB);
    // Cut beta→alpha once, about 40% in; the redial carries on from alpha's offset.
    proxy.cutAfter(proxy.bytes('toServer') + Math.floor(clip.size * 0.4), 'toServer', { once: true });
    const result = await b.cli(['copy', clip.path, '--wait']);
    expect(result.code, result.stderr).toBe(0);
    expect(await pastedSha(a)).toBe(clip.sha256);
    const resumed = await a.waitForLog((l) => l.msg === 'resuming a transfer', 'alpha resuming');
    expect(resumed['offset']).toBeGreaterThan(0);
    // Sending it all again would take the count past 1.4× the clip.
    expect(proxy.bytes('toServer')).toBeLessThan(clip.size * 1.3);
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
  });

  it('resumes after the receiver is killed with -9 mid-transfer and restarted', async () => {
    const { b, proxy } = pair;
    const clip = randomClipFile(dir, 'kill9.bin', 24 * MiB);
    proxy.slowReader(6 * MiB, 'toServer');
    const copying = b.cli(['copy', clip.path, '--wait', '--timeout', '120']);
    // Wait until alpha has stored a good part of it (its spool checkpoints as it goes).
    await waitFor(async () => (await transfersOf(pair.a)).some((t) => t.bytes >= 10 * MiB), { what: 'alpha holding 10 MiB', timeoutMs: 60_000 });
    await pair.a.kill9();
    const beforeRestart = proxy.bytes('toServer');
    proxy.slowReader(null);
    const a = await pair.restartA();
    const result = await copying;
    expect(result.code, result.stderr).toBe(0);
    expect(await pastedSha(a)).toBe(clip.sha256);
    const resumed = await a.waitForLog((l) => l.msg === 'resuming a transfer', 'alpha resuming after restart');
    expect(resumed['offset']).toBeGreaterThan(0);
    // After the restart fewer bytes than the whole clip crossed again.
    expect(proxy.bytes('toServer') - beforeRestart).toBeLessThan(clip.size);
  });

  it('re-fetches a leaf of the kept part that was damaged on disk between the cut and the restart, and ends with the right clip', async () => {
    const { b, proxy } = pair;
    const clip = randomClipFile(dir, 'damaged.bin', 24 * MiB);
    proxy.slowReader(6 * MiB, 'toServer');
    const copying = b.cli(['copy', clip.path, '--wait', '--timeout', '120']);
    // Wait for a checkpoint past a few leaves: the sidecar records what is synced to disk.
    const spool = join(pair.a.home, 'spool');
    const sidecar = (): string | undefined => readdirSync(spool).find((name) => name.endsWith('.part.json'));
    const sidecarOffset = (): number => {
      try {
        return (JSON.parse(readFileSync(join(spool, sidecar()!), 'utf8')) as { offset: number }).offset;
      } catch {
        return 0;
      }
    };
    await waitFor(async () => sidecarOffset() >= 4 * MiB, { what: 'alpha checkpointing 4 MiB of the clip', timeoutMs: 60_000 });
    await pair.a.kill9();
    const kept = sidecarOffset();
    // The disk flips a bit in leaf 2 of what alpha kept, while alpha is down.
    const part = join(spool, sidecar()!.replace(/\.json$/, ''));
    const bytes = readFileSync(part);
    bytes[2 * MiB + 12_345]! ^= 0x04;
    writeFileSync(part, bytes);
    proxy.slowReader(null);
    const a = await pair.restartA();
    const result = await copying;
    expect(result.code, result.stderr).toBe(0);
    expect(await pastedSha(a)).toBe(clip.sha256);
    // Alpha proved leaves 0 and 1, found leaf 2 bad, and asked for the clip from there.
    const resumed = await a.waitForLog((l) => l.msg === 'resuming a transfer', 'alpha resuming after restart');
    expect(kept).toBeGreaterThan(3 * MiB);
    expect(resumed['offset']).toBe(2 * MiB);
  });
});
