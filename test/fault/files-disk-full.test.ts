import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CopyFilesResponse } from '../../src/ipc/schema.js';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { listTree } from '../helpers/file-trees.js';
import { randomClipFile } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

/** Why a small tmpfs cannot be mounted here, or undefined when it can (root, and a kernel that lets us). */
function tmpfsUnavailable(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs as the full disk (run the tests as root, e.g. in CI or a VM)';
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]})`;
  }
}

/**
 * The receiver's `filesDir` on a 6 MiB tmpfs: a files clip that does not fit stops when the
 * disk fills, its partial directory is removed, the sender hears why, and both daemons go on
 * syncing, files that fit included.
 */
const dir = makeTempDir();
const small = join(dir, 'small');
const unavailable = tmpfsUnavailable(small);
if (unavailable !== undefined) {
  removeDir(dir); // nothing was mounted: leave nothing behind either
  if (process.env['CI']) throw new Error(`CI must run every test, but this one ${unavailable}`);
  console.warn(`skipping: ${unavailable}`);
}

describe.skipIf(unavailable !== undefined)('files clips onto a full disk', () => {
  let a: TestDaemon;
  let b: TestDaemon;
  const filesDir = join(small, 'received');

  beforeAll(async () => {
    const { homeA, homeB } = await trustedHomePair(dir, { filesDir }, {});
    a = await TestDaemon.start({ home: homeA });
    b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    try {
      execFileSync('umount', [small]);
    } catch {
      // not mounted
    }
    removeDir(dir);
  });

  it('stops, removes the partial directory, tells the sender, and keeps syncing', async () => {
    const from = join(dir, 'too-big');
    mkdirSync(from);
    for (let i = 0; i < 4; i++) randomClipFile(from, `chunk-${i}.bin`, 3 * MiB);
    const copied = await b.cli(['copy', '--files', from, '--wait', '--json']);
    expect(copied.code).toBe(1);
    expect(copied.stderr).toMatch(/not delivered to alpha \(receiver cannot store the clip: the disk holding .*small\/received.* is full/);
    await a.waitForLog((l) => l.msg === 'cannot store an incoming clip; refused it', 'the refusal on alpha');
    // Nothing left of it: no part, no manifest, so the space is free again.
    expect(readdirSync(filesDir)).toEqual([]);

    // Still syncing: text, and files that fit.
    await b.cliOk(['copy', '--wait'], { input: 'after the full disk' });
    expect((await a.cliOk(['paste'])).text).toBe('after the full disk');
    const fits = join(dir, 'fits');
    mkdirSync(fits);
    writeFileSync(join(fits, 'note.txt'), 'small enough\n');
    const ok = JSON.parse((await b.cliOk(['copy', '--files', fits, '--wait', '--json'])).text) as CopyFilesResponse;
    expect(ok.peers).toMatchObject([{ status: 'delivered' }]);
    await a.waitForLog((l) => l.msg === 'clip received' && l['mime'] === 'application/vnd.clipsync.files+json', 'the small files clip');
    expect(listTree(join(filesDir, ok.id))).toMatchObject({ fits: { dir: true }, 'fits/note.txt': { size: 13 } });
  });
});
