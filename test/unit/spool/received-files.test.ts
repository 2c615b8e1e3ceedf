import { mkdirSync, utimesSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupReceived, receivedEntries } from '../../../src/spool/received-files.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

const ID = (c: string) => c.repeat(64);

/** A received clip: its folder with one file of `bytes`, its manifest, all `ageMs` old. */
function clip(dir: string, id: string, bytes: number, ageMs: number, part = false): void {
  const folder = join(dir, part ? `${id}.part` : id);
  mkdirSync(join(folder, 'x'), { recursive: true });
  writeFileSync(join(folder, 'x', 'f'), Buffer.alloc(bytes));
  writeFileSync(join(dir, `${id}.manifest`), '{}');
  const when = new Date(Date.now() - ageMs);
  for (const path of [join(folder, 'x', 'f'), join(folder, 'x'), folder, join(dir, `${id}.manifest`)]) utimesSync(path, when, when);
}

describe('received files clean-up', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  it('counts each clip with its manifest, complete or arriving, and ignores anything else', async () => {
    clip(dir, ID('a'), 1000, 0);
    clip(dir, ID('b'), 500, 0, true);
    writeFileSync(join(dir, 'not-a-clip'), 'x');
    const entries = (await receivedEntries(dir)).sort((x, y) => x.id.localeCompare(y.id));
    expect(entries.map((e) => [e.id[0], e.kind, e.bytes])).toEqual([
      ['a', 'complete', 1002],
      ['b', 'partial', 502],
    ]);
  });

  it('removes what is older than the age limit, then the oldest beyond the size cap, never a pinned clip', async () => {
    const day = 24 * 60 * 60 * 1000;
    clip(dir, ID('a'), 1000, 10 * day); // too old
    clip(dir, ID('b'), 1000, 10 * day); // too old, but pinned (the current clip)
    clip(dir, ID('c'), 4000, 2 * day); // oldest of the rest: goes for size
    clip(dir, ID('d'), 4000, day);
    const plan = await cleanupReceived(dir, { now: Date.now(), maxAgeMs: 7 * day, maxTotalBytes: 6000, isPinned: (id) => id === ID('b') });
    expect(plan.remove.map((r) => [r.id[0], r.reason])).toEqual([
      ['a', 'age'],
      ['c', 'size'],
    ]);
    expect(readdirSync(dir).sort()).toEqual([ID('b'), `${ID('b')}.manifest`, ID('d'), `${ID('d')}.manifest`]);
  });
});
