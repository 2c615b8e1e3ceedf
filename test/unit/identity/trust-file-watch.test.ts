import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { watchTrustFiles, type TrustFileWatchOptions } from '../../../src/identity/trust-file-watch.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

const dir = makeTempDir();
const stops: (() => void)[] = [];
let counter = 0;

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});
afterAll(() => removeDir(dir));

function freshDir(): string {
  counter += 1;
  const path = join(dir, `d${counter}`);
  mkdirSync(path);
  return path;
}

/** Watches `files`; `next()` resolves at the next callback, `calls()` counts them. */
function watching(files: string[], options: TrustFileWatchOptions = {}): { next: () => Promise<void>; calls: () => number } {
  let calls = 0;
  let waiters: (() => void)[] = [];
  stops.push(
    watchTrustFiles(
      files,
      () => {
        calls++;
        for (const wake of waiters.splice(0)) wake();
      },
      options,
    ),
  );
  waiters = [];
  return { next: () => new Promise((resolve) => waiters.push(resolve)), calls: () => calls };
}

describe('watchTrustFiles', () => {
  it('notices an edit in place and a new version renamed into place, again and again', async () => {
    const home = freshDir();
    const file = join(home, 'trusted_keys');
    writeFileSync(file, 'one\n');
    const { next, calls } = watching([file]);

    let seen = next();
    writeFileSync(file, 'one\ntwo\n');
    await seen;

    // What `clipsync trust` and many editors do: a watch on the file itself would lose it here.
    for (const content of ['three\n', 'four four\n']) {
      seen = next();
      writeFileSync(`${file}.tmp`, content);
      renameSync(`${file}.tmp`, file);
      await seen;
    }
    expect(calls()).toBe(3);
  });

  it('is not called for other entries of the same directory', async () => {
    const home = freshDir();
    const file = join(home, 'trusted_keys');
    writeFileSync(file, 'one\n');
    const { next, calls } = watching([file]);

    writeFileSync(join(home, 'config.json'), '{}');
    writeFileSync(join(home, 'clipsync.pid'), '1\n');
    const seen = next();
    writeFileSync(file, 'one\ntwo\n');
    await seen;
    expect(calls()).toBe(1);
  });

  it('notices a file that appears and one that goes away', async () => {
    const home = freshDir();
    const later = join(home, 'authorized_keys');
    const gone = join(home, 'trusted_keys');
    writeFileSync(gone, 'one\n');
    const { next } = watching([gone, later]);

    let seen = next();
    writeFileSync(later, 'key\n');
    await seen;
    seen = next();
    renameSync(gone, join(home, 'elsewhere'));
    await seen;
  });

  it('polls a file whose directory cannot be watched (it does not exist yet)', async () => {
    const parent = freshDir();
    const file = join(parent, 'ssh', 'authorized_keys');
    const { next } = watching([file], { fallbackPollMs: 50 });

    const seen = next();
    mkdirSync(join(parent, 'ssh'));
    writeFileSync(file, 'key\n');
    await seen;
  });

  it('looks again on its safety poll, events or not', async () => {
    const home = freshDir();
    const file = join(home, 'trusted_keys');
    writeFileSync(file, 'one\n');
    // Events are held back far longer than the test runs: only the safety poll can see the change.
    const { next } = watching([file], { settleMs: 3_600_000, safetyPollMs: 50 });

    const seen = next();
    writeFileSync(file, 'one\ntwo\n');
    await seen;
  });

  it('says nothing after it is stopped', async () => {
    const home = freshDir();
    const stopped = join(home, 'stopped');
    const live = join(home, 'live');
    const first = watching([stopped]);
    stops.pop()!();
    const second = watching([live]);

    writeFileSync(stopped, 'x\n');
    const seen = second.next();
    writeFileSync(live, 'x\n');
    await seen;
    expect(first.calls()).toBe(0);
  });
});
