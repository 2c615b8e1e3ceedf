import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeafHasher } from '../../../src/content/content-hash.js';
import { TreeReader, type FileTree } from '../../../src/files/file-tree.js';
import { treeLeaves } from '../../../src/files/tree-leaves.js';
import { encodeManifest } from '../../../src/files/manifest.js';
import { walkPaths } from '../../../src/files/walk.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

const LIMITS = { maxEntries: 1000, maxBytes: 1 << 30 };

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

describe('walking copied paths', () => {
  it('lists folders depth first in byte order, files with size and executable bit, and leaves links, FIFOs and sockets out', async () => {
    mkdirSync(join(dir, 'top', 'b'), { recursive: true });
    mkdirSync(join(dir, 'top', 'a'));
    writeFileSync(join(dir, 'top', 'b', 'x'), 'xx');
    writeFileSync(join(dir, 'top', 'Z'), '');
    writeFileSync(join(dir, 'top', 'run'), '#!');
    chmodSync(join(dir, 'top', 'run'), 0o700);
    symlinkSync('/etc', join(dir, 'top', 'etc-link'));
    execFileSync('mkfifo', [join(dir, 'top', 'pipe')]);
    const walked = await walkPaths([join(dir, 'top')], LIMITS);
    expect(walked.manifest.entries).toEqual([
      { path: 'top', dir: true },
      { path: 'top/Z', size: 0, exec: false },
      { path: 'top/a', dir: true },
      { path: 'top/b', dir: true },
      { path: 'top/b/x', size: 2, exec: false },
      { path: 'top/run', size: 2, exec: true },
    ]);
    expect(walked.manifest.totalBytes).toBe(4);
    expect(walked.skipped.map((s) => [s.path.slice(dir.length + 5), s.why])).toEqual([
      ['etc-link', 'a symlink (not followed, not sent)'],
      ['pipe', 'a FIFO'],
    ]);
    expect(walked.roots).toEqual([join(dir, 'top')]);
  });

  it('refuses two top-level entries of one name, more entries or bytes than allowed, and a tree of nothing but links', async () => {
    mkdirSync(join(dir, 'one'));
    mkdirSync(join(dir, 'two'));
    writeFileSync(join(dir, 'one', 'same'), 'a');
    writeFileSync(join(dir, 'two', 'same'), 'b');
    await expect(walkPaths([join(dir, 'one', 'same'), join(dir, 'two', 'same')], LIMITS)).rejects.toThrow(/would both be pasted as "same"/);
    await expect(walkPaths([join(dir, 'one'), join(dir, 'two')], { maxEntries: 3, maxBytes: 100 })).rejects.toThrow(/more than 3 files and folders/);
    await expect(walkPaths([join(dir, 'one'), join(dir, 'two')], { maxEntries: 10, maxBytes: 1 })).rejects.toThrow(/over the limit of 1 bytes/);
    symlinkSync('/etc', join(dir, 'only-link'));
    await expect(walkPaths([join(dir, 'only-link')], LIMITS)).rejects.toThrow(/nothing to copy/);
    await expect(walkPaths([join(dir, 'missing')], LIMITS)).rejects.toThrow(/cannot read .*missing \(no such file\)/);
  });
});

describe('reading a tree as one body', () => {
  async function treeOf(names: string[]): Promise<FileTree> {
    const walked = await walkPaths(names.map((n) => join(dir, n)), LIMITS);
    return { manifest: walked.manifest, manifestBytes: encodeManifest(walked.manifest), files: walked.files, roots: walked.roots };
  }

  async function readAll(reader: TreeReader, size: number, step: number): Promise<Buffer> {
    const out = Buffer.alloc(size);
    for (let at = 0; at < size; at += step) await reader.read(out, at, Math.min(step, size - at), at);
    return out;
  }

  it('gives the manifest, then each file in order, across file boundaries', async () => {
    writeFileSync(join(dir, 'a'), 'AAAA');
    writeFileSync(join(dir, 'b'), '');
    writeFileSync(join(dir, 'c'), Buffer.alloc(3 * 1024 * 1024, 'c'));
    const tree = await treeOf(['a', 'b', 'c']);
    const size = tree.manifestBytes.length + tree.manifest.totalBytes;
    const reader = new TreeReader(tree);
    const body = await readAll(reader, size, 700_001);
    await reader.close();
    expect(body.equals(Buffer.concat([tree.manifestBytes, Buffer.from('AAAA'), Buffer.alloc(3 * 1024 * 1024, 'c')]))).toBe(true);
  });

  it('fails, naming the file, when one changed after it was walked or while it is read', async () => {
    writeFileSync(join(dir, 'small'), 'small');
    writeFileSync(join(dir, 'large'), Buffer.alloc(3 * 1024 * 1024, 1));
    const tree = await treeOf(['small', 'large']);
    const size = tree.manifestBytes.length + tree.manifest.totalBytes;

    // Modified in place after the walk, same size: its mtime tells.
    utimesSync(join(dir, 'small'), new Date(), new Date(Date.now() + 5000));
    await expect(readAll(new TreeReader(tree), size, 1 << 20)).rejects.toThrow(/small changed while it was being copied: it was modified/);

    // Written to while being read: the check at its end sees it.
    const fresh = await treeOf(['small', 'large']);
    const reader = new TreeReader(fresh);
    const out = Buffer.alloc(size);
    await reader.read(out, 0, fresh.manifestBytes.length + 5 + 1024, 0);
    writeFileSync(join(dir, 'large'), Buffer.alloc(3 * 1024 * 1024, 2));
    utimesSync(join(dir, 'large'), new Date(), new Date(Date.now() + 9000));
    await expect(reader.read(out, 0, size - (fresh.manifestBytes.length + 5 + 1024), fresh.manifestBytes.length + 5 + 1024)).rejects.toThrow(/large changed while it was being copied/);
    await reader.close();
  });
});

describe('the leaf hashes of a tree', () => {
  it('are those of its body read in one pass, whatever the sizes (ranges are hashed side by side)', async () => {
    for (const sizes of [[0], [5], [1024 * 1024 - 300], [3 * 1024 * 1024, 1, 0, 5 * 1024 * 1024 + 7], Array.from({ length: 40 }, (_, i) => i * 10_000)]) {
      const case_ = join(dir, `c${sizes.length}-${sizes[0]}`);
      mkdirSync(case_);
      sizes.forEach((n, i) => writeFileSync(join(case_, `f${String(i).padStart(3, '0')}`), randomBytes(n)));
      const walked = await walkPaths([case_], LIMITS);
      const tree: FileTree = { manifest: walked.manifest, manifestBytes: encodeManifest(walked.manifest), files: walked.files, roots: walked.roots };
      const body = Buffer.concat([tree.manifestBytes, ...walked.files.map((f) => readFileSync(f.source))]);
      const oneHasher = new LeafHasher();
      oneHasher.update(body);
      expect((await treeLeaves(tree, body.length)).equals(oneHasher.finish())).toBe(true);
    }
  });
});
