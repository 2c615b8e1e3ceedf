import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IpcClient } from '../../src/ipc/client.js';
import type { CopyFilesResponse, PasteFilesEvent, PasteListResponse } from '../../src/ipc/schema.js';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { listTree, makeSampleTree, prefixed } from '../helpers/file-trees.js';
import { randomClipFile } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

/**
 * Files and folders as clips (issue 15) between two real daemons: `copy --files` on beta,
 * `paste --list` and `paste --to` on alpha. Alpha's eager limit is 4 MiB, so the sample tree
 * (about 1 MiB) moves at once and a larger one is announced with its manifest only.
 */
describe('files clips between daemons', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;
  let filesDirA: string;

  beforeEach(async () => {
    dir = makeTempDir();
    filesDirA = join(dir, 'alpha-received');
    const { homeA, homeB } = await trustedHomePair(dir, { eagerLimitBytes: 4 * MiB, filesDir: filesDirA }, {});
    a = await TestDaemon.start({ home: homeA });
    b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  });
  afterEach(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('a folder tree arrives byte for byte, with folders, unicode names, empty files and the executable bit; links and FIFOs stay behind', async () => {
    const { root, expected } = makeSampleTree(join(dir, 'from'));
    const copied = await b.cliOk(['copy', '--files', root, '--wait', '--json']);
    const result = JSON.parse(copied.text) as CopyFilesResponse;
    expect(result.peers).toMatchObject([{ name: 'alpha', status: 'delivered' }]);
    expect(result.skipped.map((s) => s.path.slice(root.length + 1)).sort()).toEqual(['a-fifo', 'link-to-passwd', 'link-to-src']);
    expect(copied.stderr).toMatch(/skipped .*link-to-passwd: a symlink/);
    expect(result.files.count).toBe(Object.keys(expected).length + 1);

    await a.waitForLog((l) => l.msg === 'clip received', 'the files clip on alpha');
    const list = JSON.parse((await a.cliOk(['paste', '--list', '--json'])).text) as PasteListResponse;
    expect(list.local).toBe(true);
    expect(list.files?.entries).toContainEqual({ path: 'project/run.sh', size: 19, exec: true });
    expect(list.files?.entries).toContainEqual({ path: 'project/empty folder', dir: true });
    const human = await a.cliOk(['paste', '--list']);
    expect(human.text).toContain('project/src/deep/deeper/\n');
    expect(human.text).toMatch(/project\/run\.sh\t19 B\texecutable/);
    expect(human.stderr).toMatch(/7 files, 6 folders/);

    // Received into its own directory, and pasteable from there as local paths.
    const id = list.id;
    expect(listTree(join(filesDirA, id))).toEqual(prefixed(expected, 'project'));
    expect((await a.cliOk(['paste'])).text).toBe(join(filesDirA, id, 'project'));

    const out = join(dir, 'out');
    mkdirSync(out);
    const pasted = await a.cliOk(['paste', '--to', out]);
    expect(pasted.text).toBe(`${join(out, 'project')}\n`);
    expect(listTree(out)).toEqual(prefixed(expected, 'project'));

    // Pasting again into the same folder would overwrite: refused, nothing touched.
    const again = await a.cli(['paste', '--to', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; nothing was pasted/);
    expect(listTree(out)).toEqual(prefixed(expected, 'project'));
  });

  it('over the eager limit, the manifest comes at once and the files only when pasted, with files counted in progress', async () => {
    const from = join(dir, 'big');
    mkdirSync(from);
    const files = [0, 1, 2, 3].map((i) => randomClipFile(from, `part-${i}.bin`, 3 * MiB));
    writeFileSync(join(from, 'notes.txt'), 'four parts\n');
    await b.cliOk(['copy', '--files', from, '--wait']);
    await a.waitForLog((l) => l.msg === 'files clip announced', 'the announcement on alpha');

    const list = JSON.parse((await a.cliOk(['paste', '--list', '--json'])).text) as PasteListResponse;
    expect(list.local).toBe(false);
    expect(list.files?.count).toBe(6);
    expect(list.files?.totalBytes).toBe(12 * MiB + 11);
    expect(readdirSync(filesDirA).filter((n) => n === list.id)).toEqual([]); // nothing complete yet

    const out = join(dir, 'out');
    mkdirSync(out);
    // What `paste --to` follows on a terminal: the fetch's progress, in files and bytes, then the result.
    const lines: PasteFilesEvent[] = [];
    for await (const line of new IpcClient(join(a.home, 'clipsync.sock')).lines<PasteFilesEvent>({ method: 'POST', path: '/v1/paste/files', query: { to: out, progress: '1' } })) lines.push(line);
    const last = lines[lines.length - 1]!;
    expect(last).toMatchObject({ event: 'result', result: { id: list.id, to: out, count: 6, written: [join(out, 'big')] } });
    const end = lines.find((l) => l.event === 'end');
    expect(end).toMatchObject({ event: 'end', outcome: 'completed', transfer: { direction: 'receive', files: { done: 5, total: 5 } } });
    const progress = lines.filter((l) => l.event === 'progress').map((l) => (l as { transfer: { files?: { done: number } } }).transfer.files?.done ?? 0);
    expect(progress.every((done, i) => i === 0 || done >= progress[i - 1]!)).toBe(true);
    const listing = listTree(join(out, 'big'));
    for (const f of files) expect(listing[`part-${files.indexOf(f)}.bin`]).toMatchObject({ sha256: f.sha256, size: f.size });
    expect(listing['notes.txt']).toMatchObject({ size: 11 });
  });

  it('a file changed after it was copied fails the paste cleanly, naming it; the daemons keep syncing', async () => {
    const from = join(dir, 'changing');
    mkdirSync(from);
    const big = randomClipFile(from, 'grows.bin', 6 * MiB);
    await b.cliOk(['copy', '--files', from, '--wait']);
    await a.waitForLog((l) => l.msg === 'files clip announced', 'the announcement on alpha');
    appendFileSync(big.path, 'more');

    const out = join(dir, 'out');
    mkdirSync(out);
    const pasted = await a.cli(['paste', '--to', out]);
    expect(pasted.code).toBe(5);
    expect(pasted.stderr).toMatch(/cancelled|changed/);
    await b.waitForLog((l) => l.msg === 'sending a clip failed' && /grows\.bin changed while it was being copied/.test(String(l['reason'])), 'the sender naming the changed file');
    expect(readdirSync(out)).toEqual([]);

    await b.cliOk(['copy', '--wait'], { input: 'still syncing' });
    expect((await a.cliOk(['paste'])).text).toBe('still syncing');
  });
});
