import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeManifest, type FileManifest } from '../../../src/files/manifest.js';
import { clipTree, type ClipMeta } from '../../../src/sync/clip.js';
import { FilesSink } from '../../../src/spool/files-sink.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const LIMITS = { maxEntries: 100, foldsCase: false };

/** A files clip of these file sizes under folder `d`, with its body and meta. */
function filesClip(sizes: number[]): { meta: ClipMeta; body: Buffer; data: Buffer[] } {
  const data = sizes.map((n) => randomBytes(n));
  const manifest: FileManifest = {
    entries: [{ path: 'd', dir: true }, ...sizes.map((n, i) => ({ path: `d/f${i}`, size: n, exec: i === 0 }))],
    count: sizes.length + 1,
    totalBytes: sizes.reduce((a, b) => a + b, 0),
    cut: false,
  };
  const manifestBytes = encodeManifest(manifest);
  const formats = [
    { mime: 'application/vnd.clipsync.files+json', size: manifestBytes.length },
    { mime: 'application/vnd.clipsync.files-data', size: manifest.totalBytes },
  ];
  const body = Buffer.concat([manifestBytes, ...data]);
  const { id, leaves } = clipTree(formats, body);
  return { meta: { id, formats, mime: formats[0]!.mime, size: body.length, ts: 1, origin: 'o', leaves }, body, data };
}

async function feed(sink: FilesSink, body: Buffer, from: number, to: number, step = 300 * 1024): Promise<void> {
  for (let at = from; at < to; at += step) await sink.write(body.subarray(at, Math.min(to, at + step)));
}

describe('FilesSink', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  it('writes each file in place and renames the clip directory only once every leaf matched', async () => {
    const { meta, body, data } = filesClip([3 * MiB + 5, 0, 17, 2 * MiB]);
    const sink = await FilesSink.open(meta, dir, LIMITS);
    await feed(sink, body, 0, body.length);
    expect(existsSync(join(dir, meta.id))).toBe(false);
    const result = await sink.finish();
    const root = join(dir, meta.id, 'd');
    data.forEach((d, i) => expect(readFileSync(join(root, `f${i}`)).equals(d)).toBe(true));
    expect(statSync(join(root, 'f0')).mode & 0o111).not.toBe(0);
    expect(statSync(join(root, 'f2')).mode & 0o111).toBe(0);
    expect(result.tree?.roots).toEqual([join(dir, meta.id, 'd')]);
    expect(existsSync(join(dir, `${meta.id}.part`))).toBe(false);
  });

  it('resumes inside the file it stopped in, from the last leaf that proves, after a stop without warning', async () => {
    const { meta, body, data } = filesClip([2 * MiB + 100, 3 * MiB, MiB]);
    const first = await FilesSink.open(meta, dir, LIMITS);
    const cut = 3 * MiB + 654_321; // inside f1
    await feed(first, body, 0, cut);
    // No suspend: as after kill -9, whatever reached the files is all there is.
    const second = await FilesSink.open(meta, dir, LIMITS);
    expect(second.offset).toBe(3 * MiB);
    expect(second.manifest?.count).toBe(4);
    const inF1 = 3 * MiB - (body.length - data.reduce((n, d) => n + d.length, 0)) - data[0]!.length;
    expect(statSync(join(dir, `${meta.id}.part`, 'd', 'f1')).size).toBe(inF1);
    await feed(second, body, second.offset, body.length);
    await second.finish();
    data.forEach((d, i) => expect(readFileSync(join(dir, meta.id, 'd', `f${i}`)).equals(d)).toBe(true));
  });

  it('cuts a kept file at the first leaf damaged on disk, and receives it again', async () => {
    const { meta, body, data } = filesClip([4 * MiB]);
    const first = await FilesSink.open(meta, dir, LIMITS);
    await feed(first, body, 0, body.length - 1000);
    await first.suspend();
    const f0 = join(dir, `${meta.id}.part`, 'd', 'f0');
    const bytes = readFileSync(f0);
    bytes[2 * MiB + 10]! ^= 1; // inside leaf 2 (the manifest is at the front)
    writeFileSync(f0, bytes);
    const second = await FilesSink.open(meta, dir, LIMITS);
    expect(second.offset).toBe(2 * MiB);
    await feed(second, body, second.offset, body.length);
    await second.finish();
    expect(readFileSync(join(dir, meta.id, 'd', 'f0')).equals(data[0]!)).toBe(true);
  });

  it('starts over when the kept manifest is gone or damaged, and keeps nothing on discard', async () => {
    const { meta, body } = filesClip([MiB]);
    const first = await FilesSink.open(meta, dir, LIMITS);
    await feed(first, body, 0, MiB);
    truncateSync(join(dir, `${meta.id}.manifest`), 3);
    const second = await FilesSink.open(meta, dir, LIMITS);
    expect(second.offset).toBe(0);
    await feed(second, body, 0, 1000);
    await second.discard();
    expect(existsSync(join(dir, `${meta.id}.part`))).toBe(false);
    expect(existsSync(join(dir, `${meta.id}.manifest`))).toBe(false);
  });
});
