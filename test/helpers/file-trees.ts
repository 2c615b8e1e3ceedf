import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';

/** What a tree holds, comparable across machines: each entry's kind, and a file's hash and executable bit. */
export type TreeListing = Record<string, { dir: true } | { sha256: string; size: number; exec: boolean }>;

/** Every entry under `root` (symlinks, FIFOs and the like included, so a leak shows), by relative name. */
export function listTree(root: string): TreeListing {
  const out: TreeListing = {};
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      const info = lstatSync(path);
      if (info.isDirectory()) {
        out[rel] = { dir: true };
        visit(path);
      } else if (info.isFile()) {
        const data = readFileSync(path);
        out[rel] = { sha256: createHash('sha256').update(data).digest('hex'), size: data.length, exec: (info.mode & 0o111) !== 0 };
      } else out[rel] = { sha256: `not a regular file (mode ${info.mode.toString(8)})`, size: -1, exec: false };
    }
  };
  visit(root);
  return out;
}

/**
 * A folder tree with what file managers copy in practice: nested folders, an empty folder,
 * unicode and spaced names, empty files, an executable, a file over one leaf (1 MiB), and a
 * symlink and a FIFO that must not travel. Returns the listing the receiver must end with.
 */
export function makeSampleTree(parent: string, name = 'project'): { root: string; expected: TreeListing } {
  const root = join(parent, name);
  mkdirSync(join(root, 'src', 'deep', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'empty folder'));
  mkdirSync(join(root, 'ünïcødé ✓ 日本'));
  writeFileSync(join(root, 'README.md'), '# hello\n');
  writeFileSync(join(root, 'src', 'main.ts'), 'console.log("hi");\n'.repeat(100));
  writeFileSync(join(root, 'src', 'deep', 'deeper', 'data.bin'), randomBytes(1024 * 1024 + 12345));
  writeFileSync(join(root, 'src', 'empty.txt'), '');
  writeFileSync(join(root, 'ünïcødé ✓ 日本', 'ファイル.txt'), 'こんにちは\n');
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(join(root, 'run.sh'), 0o755);
  writeFileSync(join(root, 'zero'), '');
  const expected = listTree(root);
  symlinkSync('/etc/passwd', join(root, 'link-to-passwd'));
  symlinkSync('src', join(root, 'link-to-src'));
  execFileSync('mkfifo', [join(root, 'a-fifo')]);
  return { root, expected };
}

/** The same listing under another top-level name (what `paste --to DIR` makes of `name`). */
export function prefixed(listing: TreeListing, prefix: string): TreeListing {
  return Object.fromEntries([[prefix, { dir: true }], ...Object.entries(listing).map(([k, v]) => [join(prefix, k), v])]) as TreeListing;
}
