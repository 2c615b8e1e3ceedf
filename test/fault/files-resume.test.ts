import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PasteListResponse } from '../../src/ipc/schema.js';
import { listTree } from '../helpers/file-trees.js';
import { randomClipFile, startProxiedPair, transfersOf, type ProxiedPair } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/**
 * A files clip cut by `kill -9` of the receiver part way through: the files it finished stay,
 * the one it was writing is proven leaf by leaf and cut at the last good leaf, and the
 * transfer resumes from there once the receiver is back, inside that file, not from the start.
 */
describe('a files clip resumes per file after the receiver is killed', () => {
  let dir: string;
  let pair: ProxiedPair;
  let filesDir: string;

  beforeEach(async () => {
    dir = makeTempDir();
    filesDir = join(dir, 'received');
    pair = await startProxiedPair(dir, { configA: { eagerLimitBytes: 4 * MiB, filesDir } });
  });
  afterEach(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  it('keeps the finished files and the proven part of the next one, and resumes there', async () => {
    const from = join(dir, 'parts');
    mkdirSync(from);
    const parts = [0, 1, 2, 3, 4].map((i) => randomClipFile(from, `part-${i}.bin`, 6 * MiB + i));
    await pair.b.cliOk(['copy', '--files', from, '--wait']);
    await pair.a.waitForLog((l) => l.msg === 'files clip announced', 'the announcement');
    const { id } = JSON.parse((await pair.a.cliOk(['paste', '--list', '--json'])).text) as PasteListResponse;

    // Slow enough that the kill lands in the middle: about 8 MiB/s from beta to alpha.
    pair.proxy.slowReader(8 * MiB, 'toServer');
    const pasting = pair.a.cli(['paste', '--to', dir]);
    await waitFor(async () => ((await transfersOf(pair.a).catch(() => []))[0]?.bytes ?? 0) > 15 * MiB || undefined, { what: 'half the files on alpha', timeoutMs: 60_000 });
    await pair.a.kill9();
    await pasting;

    const part = join(filesDir, `${id}.part`, 'parts');
    const kept = readdirSync(part).sort();
    expect(kept.slice(0, 2)).toEqual(['part-0.bin', 'part-1.bin']);
    expect(statSync(join(part, 'part-0.bin')).size).toBe(parts[0]!.size);
    expect(statSync(join(part, 'part-1.bin')).size).toBe(parts[1]!.size);

    pair.proxy.slowReader(null);
    const a = await pair.restartA();
    // Beta offers its clip again on the new connection; alpha holds a part past the manifest, so it resumes at once.
    const resumed = await a.waitForLog((l) => l.msg === 'resuming a transfer', 'the resume', 60_000);
    const offset = Number(resumed['offset']);
    expect(offset).toBeGreaterThan(2 * 6 * MiB);
    expect(offset % MiB).toBe(0); // a leaf boundary: only proven bytes are kept
    await a.waitForLog((l) => l.msg === 'clip received', 'the whole clip', 60_000);

    const out = join(dir, 'out');
    mkdirSync(out);
    await a.cliOk(['paste', '--to', out]);
    const listing = listTree(join(out, 'parts'));
    for (const [i, p] of parts.entries()) expect(listing[`part-${i}.bin`]).toMatchObject({ sha256: p.sha256, size: p.size });
  });
});
