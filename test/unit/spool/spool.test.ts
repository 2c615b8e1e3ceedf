import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClipsyncError } from '../../../src/core/errors.js';
import { LeafHasher, contentTree, rootId } from '../../../src/content/content-hash.js';
import { clipId, clipTree, formatsTrailer } from '../../../src/sync/clip.js';
import { ClipReader } from '../../../src/sync/clip-body.js';
import { fillingFile, whenComplete } from '../../../src/core/filling-files.js';
import { MAX_UNWRITTEN_BYTES } from '../../../src/spool/part-appender.js';
import { planCleanup, type SpoolEntry } from '../../../src/spool/spool-cleanup.js';
import { spoolIoError } from '../../../src/spool/spool-errors.js';
import { DEFAULT_SPOOL_CHUNK_BYTES, Spool, type IncomingMeta } from '../../../src/spool/spool.js';
import { Prng } from '../../helpers/prng.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY = 24 * 60 * 60 * 1000;

let dir: string;
let spoolDir: string;
beforeEach(() => {
  dir = makeTempDir('spool-');
  spoolDir = join(dir, 'spool');
});
afterEach(() => {
  vi.restoreAllMocks();
  removeDir(dir);
});

function bytes(length: number, seed = 1): Buffer {
  return new Prng(seed).bytes(length);
}

/** What a peer's OFFER of `data` as one format of `mime` tells the spool. */
function metaOf(data: Buffer, mime = 'application/octet-stream'): IncomingMeta {
  const formats = [{ mime, size: data.length }];
  const { id, leaves } = clipTree(formats, data);
  return { id, size: data.length, leaves };
}

/** The id of a local copy stored with no trailer: the root of its leaves alone. */
function bytesId(data: Buffer): string {
  return contentTree(data, Buffer.alloc(0)).id;
}

/** The leaf hashes of `data`. */
function leavesOf(data: Buffer): Buffer {
  return contentTree(data, Buffer.alloc(0)).leaves;
}

/** `data` cut into pieces of `size` (views, no copies). */
function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

async function readAll(stream: Readable): Promise<{ data: Buffer; chunkSizes: number[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { data: Buffer.concat(chunks), chunkSizes: chunks.map((c) => c.length) };
}

/** The spool's clip files (its FORMAT mark left out). */
function listing(path = spoolDir): string[] {
  return readdirSync(path)
    .filter((name) => name !== 'FORMAT')
    .sort();
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

async function rejection(promise: Promise<unknown>): Promise<ClipsyncError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ClipsyncError);
    return err as ClipsyncError;
  }
  throw new Error('expected a rejection');
}

describe('Spool: files and modes', () => {
  it('creates the directory 0700, tightens an existing one, and removes temp files left by a crash', async () => {
    mkdirSync(spoolDir, { mode: 0o755 });
    chmodSync(spoolDir, 0o755);
    writeFileSync(join(spoolDir, 'local.123.abcdef.tmp'), 'half a clip');
    writeFileSync(join(spoolDir, 'notes.txt'), 'not ours');
    await Spool.open(spoolDir);
    expect(mode(spoolDir)).toBe(0o700);
    expect(listing()).toEqual(['notes.txt']);

    const nested = join(dir, 'a', 'b', 'spool');
    await Spool.open(nested);
    expect(mode(nested)).toBe(0o700);
  });

  it('says which clips need the spool', async () => {
    const spool = await Spool.open(spoolDir);
    expect(spool.shouldSpool(8 * MiB)).toBe(false);
    expect(spool.shouldSpool(8 * MiB + 1)).toBe(true);
    expect((await Spool.open(spoolDir, { thresholdBytes: 10 })).shouldSpool(11)).toBe(true);
  });
});

describe('Spool: local clips', () => {
  it('stores a stream under its content id, 0600, and reads it back from any offset in bounded chunks', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(3 * MiB + 17);
    const clip = await spool.storeLocal(Readable.from(pieces(data, 100 * KiB)));
    expect(clip).toEqual({ id: bytesId(data), size: data.length, file: join(spoolDir, bytesId(data)), leaves: leavesOf(data) });
    expect(mode(clip.file)).toBe(0o600);
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    expect(listing()).toEqual([clip.id]);

    const whole = await readAll(await spool.createReadStream(clip.id, 0, 64 * KiB));
    expect(whole.data.equals(data)).toBe(true);
    expect(Math.max(...whole.chunkSizes)).toBe(64 * KiB);

    const tail = await readAll(await spool.createReadStream(clip.id, 1_000_001));
    expect(tail.data.equals(data.subarray(1_000_001))).toBe(true);
    expect((await readAll(await spool.createReadStream(clip.id, data.length))).data.length).toBe(0);
    expect(await spool.get(clip.id)).toEqual({ id: clip.id, size: data.length, file: clip.file });
  });

  it('stores the same bytes once, whether they come as a buffer or a stream', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(600 * KiB, 2);
    const a = await spool.storeLocal(data);
    const b = await spool.storeLocal(Readable.from(pieces(data, 7000)));
    expect(b.id).toBe(a.id);
    expect(listing()).toEqual([a.id]);
    const empty = await spool.storeLocal(Buffer.alloc(0));
    expect(empty).toMatchObject({ id: bytesId(Buffer.alloc(0)), size: 0 });
  });

  it('with a trailer, names the clip by its bytes and the trailer made from the size it counted', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(300 * KiB, 14);
    const sizes: number[] = [];
    const trailer = (size: number) => {
      sizes.push(size);
      return formatsTrailer([{ mime: 'image/png', size }]);
    };
    const clip = await spool.storeLocal(Readable.from(pieces(data, 64 * KiB)), { trailer });
    expect(sizes).toEqual([data.length]);
    expect(clip.id).toBe(clipId([{ mime: 'image/png', size: data.length }], data));
    expect(clip.id).toBe(metaOf(data, 'image/png').id);
    expect(clip.id).not.toBe(bytesId(data));
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    // Another type for the same bytes is another clip.
    const other = await spool.storeLocal(data, { trailer: (size) => formatsTrailer([{ mime: 'image/jpeg', size }]) });
    expect(other.id).toBe(metaOf(data, 'image/jpeg').id);
    expect(listing()).toEqual([clip.id, other.id].sort());
  });

  it('refuses a clip over maxBytes and keeps nothing of it', async () => {
    const spool = await Spool.open(spoolDir);
    const err = await rejection(spool.storeLocal(Readable.from(pieces(bytes(300 * KiB), 64 * KiB)), { maxBytes: 200 * KiB }));
    expect(err.code).toBe('CLIPSYNC_ERR_CLIP_TOO_LARGE');
    expect(listing()).toEqual([]);
  });

  it('passes a source stream error on as it is, and keeps nothing', async () => {
    const spool = await Spool.open(spoolDir);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1000, 1);
      throw new Error('stdin broke');
    }
    await expect(spool.storeLocal(failing())).rejects.toThrow('stdin broke');
    expect(listing()).toEqual([]);
  });

  it('stores a copy of a file under the same id as its bytes streamed, 0600 whatever the original mode, each piece shown to inspect', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 5, 21);
    const original = join(dir, 'original.bin');
    writeFileSync(original, data, { mode: 0o644 });
    let inspected = 0;
    const trailer = (size: number) => formatsTrailer([{ mime: 'image/png', size }]);
    const clip = await spool.storeLocalFile(original, { trailer, inspect: (piece) => (inspected += piece.length) });
    expect(clip).toMatchObject({ id: metaOf(data, 'image/png').id, size: data.length, file: join(spoolDir, clip.id), leaves: leavesOf(data) });
    expect(inspected).toBe(data.length);
    await clip.copy.start();
    expect(mode(clip.file)).toBe(0o600);
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    // A copy, not a link: changing the original later leaves the clip as it was.
    writeFileSync(original, 'changed afterwards');
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    expect(listing()).toEqual([clip.id]);
  });

  it('offers the clip before its copy is made: readers read the held file, even once it is removed, and the copy then', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(9 * MiB + 77, 23);
    const original = join(dir, 'filling.bin');
    writeFileSync(original, data);
    const clip = await spool.storeLocalFile(original);
    expect(fillingFile(clip.file)).toBeDefined(); // hashed, not yet copied
    rmSync(original); // the daemon holds it open: nothing changes for the clip
    const reader = new ClipReader({ file: clip.file }, clip.size);
    const chunks: Buffer[] = [];
    const half = 5 * 960 * KiB;
    try {
      for (let at = 0; at < half; at += 960 * KiB) chunks.push(Buffer.from(await reader.read(at, 960 * KiB)));
      // The copy is made while this reader is half-way: it reads on from the copy.
      await clip.copy.start();
      expect(fillingFile(clip.file)).toBeUndefined();
      for (let at = half; at < clip.size; at += 960 * KiB) chunks.push(Buffer.from(await reader.read(at, Math.min(960 * KiB, clip.size - at))));
    } finally {
      await reader.close();
    }
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    await expect(whenComplete(clip.file)).resolves.toBeUndefined();
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    expect(mode(clip.file)).toBe(0o600);
  });

  it('lets a copy go unmade when its clip was refused: forgotten, nothing kept', async () => {
    const spool = await Spool.open(spoolDir);
    const original = join(dir, 'refused.bin');
    writeFileSync(original, bytes(2 * MiB, 26));
    const clip = await spool.storeLocalFile(original);
    await clip.copy.cancel();
    expect(fillingFile(clip.file)).toBeUndefined();
    await expect(clip.copy.start()).rejects.toMatchObject({ message: `${original} was not copied` });
    expect(listing()).toEqual([]);
  });

  it('makes the copy when someone here needs the bytes before it was started (a paste, the desktop reading the clip)', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 5, 28);
    const original = join(dir, 'demanded.bin');
    writeFileSync(original, data);
    const clip = await spool.storeLocalFile(original);
    await whenComplete(clip.file); // nobody called start(): waiting for it would never end
    expect(fillingFile(clip.file)).toBeUndefined();
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    await clip.copy.start(); // the route's own start later is the same copy
    expect(listing()).toEqual([clip.id]);
  });

  it('gives two copies of the same bytes made before either was copied each its own file: one let go, or changed in place, leaves the other standing', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(3 * MiB, 27);
    const [a, b, c] = ['one.bin', 'two.bin', 'three.bin'].map((name) => join(dir, name));
    for (const path of [a!, b!, c!]) writeFileSync(path, data);
    const failed: unknown[] = [];
    const onCopyFailed = (err: unknown): void => void failed.push(err);
    // Let go: the second still reads and completes.
    const first = await spool.storeLocalFile(a!, { onCopyFailed });
    const second = await spool.storeLocalFile(b!, { onCopyFailed });
    expect(second.file).toBe(first.file);
    await first.copy.cancel();
    expect(fillingFile(first.file)).toBeDefined();
    const reader = new ClipReader({ file: first.file }, first.size);
    expect((await reader.read(0, MiB)).equals(data.subarray(0, MiB))).toBe(true);
    await reader.close();
    await whenComplete(first.file);
    expect(readFileSync(first.file).equals(data)).toBe(true);
    expect(failed).toEqual([]); // a copy let go is nobody's failure
    rmSync(first.file);
    // Changed in place: that copy fails, the other one's file is still the clip.
    const third = await spool.storeLocalFile(a!, { onCopyFailed });
    const fourth = await spool.storeLocalFile(c!, { onCopyFailed });
    const fd = openSync(a!, 'r+');
    writeSync(fd, Buffer.from([data[0]! ^ 1]), 0, 1, 0);
    closeSync(fd);
    await expect(third.copy.start()).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED' });
    expect(failed).toHaveLength(1);
    await expect(whenComplete(third.file)).resolves.toBeUndefined(); // the fourth one's copy, demanded
    expect(fillingFile(third.file)).toBeUndefined(); // complete: the failure no longer speaks for it
    await fourth.copy.start();
    expect(readFileSync(third.file).equals(data)).toBe(true);
    expect(listing()).toEqual([first.id]);
  });

  it('forgets a failed copy once the same bytes are stored another way (from a stream, or received)', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB, 29);
    const original = join(dir, 'fails.bin');
    const changeInPlace = (): void => {
      const fd = openSync(original, 'r+');
      writeSync(fd, Buffer.from([data[1]! ^ 1]), 0, 1, 1);
      closeSync(fd);
    };
    writeFileSync(original, data);
    const copied = await spool.storeLocalFile(original);
    changeInPlace();
    await expect(copied.copy.start()).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED' });
    await expect(whenComplete(copied.file)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED' });
    await spool.storeLocal(Readable.from(pieces(data, 64 * KiB)));
    expect(fillingFile(copied.file)).toBeUndefined();
    await expect(whenComplete(copied.file)).resolves.toBeUndefined();
    // The same through a transfer from a peer.
    rmSync(copied.file);
    writeFileSync(original, data);
    const again = await spool.storeLocalFile(original);
    changeInPlace();
    await expect(again.copy.start()).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED' });
    const incoming = await spool.beginIncoming({ id: again.id, size: data.length, leaves: again.leaves });
    await incoming.write(data);
    await incoming.finish();
    expect(fillingFile(again.file)).toBeUndefined();
    const reader = new ClipReader({ file: again.file }, again.size);
    expect((await reader.read(0, 64 * KiB)).equals(data.subarray(0, 64 * KiB))).toBe(true);
    await reader.close();
  });

  it('once the clip is complete, no earlier copy speaks for it: reads come from the complete file, an unstarted copy is not made, a late failure harms nothing', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 11, 31);
    const original = join(dir, 'edited-later.bin');
    writeFileSync(original, data);
    const failed: unknown[] = [];
    const editInPlace = (): void => {
      const fd = openSync(original, 'r+');
      writeSync(fd, Buffer.from('XXXX'), 0, 4, 0);
      closeSync(fd);
    };
    // Two copies; the second is made, then the original is edited in place.
    const first = await spool.storeLocalFile(original, { onCopyFailed: (err) => void failed.push(err) });
    const second = await spool.storeLocalFile(original);
    await second.copy.start();
    editInPlace();
    const reader = new ClipReader({ file: first.file }, first.size);
    expect((await reader.read(0, 1024)).equals(data.subarray(0, 1024))).toBe(true); // not the edited original
    await reader.close();
    await first.copy.start(); // superseded: done at once, nothing copied again
    await expect(whenComplete(first.file)).resolves.toBeUndefined();
    // A deferred copy that fails after the same bytes came from stdin: the clip stays readable.
    rmSync(first.file);
    writeFileSync(original, data);
    const deferred = await spool.storeLocalFile(original, { onCopyFailed: (err) => void failed.push(err) });
    const fill = fillingFile(deferred.file)!;
    await spool.storeLocal(Readable.from(pieces(data, 64 * KiB)));
    expect(fillingFile(deferred.file)).toBeUndefined();
    editInPlace();
    await fill.demand(); // superseded when the path completed: never copied, never failed
    await expect(whenComplete(deferred.file)).resolves.toBeUndefined();
    expect(readFileSync(deferred.file).equals(data)).toBe(true);
    expect(failed).toEqual([]);
  });

  it('keeps the clip when the file was only appended to after it was hashed: its bytes are all still there', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 3, 30);
    const original = join(dir, 'log.txt');
    writeFileSync(original, data);
    const clip = await spool.storeLocalFile(original);
    appendFileSync(original, 'one more line\n');
    await clip.copy.start();
    expect(readFileSync(clip.file).equals(data)).toBe(true);
  });

  it('keeps a proven copy of the same bytes instead of copying again, and replaces a torn one', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(3 * MiB + 9, 25);
    const original = join(dir, 'twice.bin');
    writeFileSync(original, data);
    const first = await spool.storeLocalFile(original);
    await first.copy.start();
    const second = await spool.storeLocalFile(original);
    expect(second.file).toBe(first.file);
    expect(fillingFile(second.file)).toBeUndefined(); // nothing to fill: the copy is there
    await second.copy.start();
    // A crash tore the stored copy (complete files are not synced): it is found out and made again.
    const torn = Buffer.from(data);
    torn[2 * MiB]! ^= 1;
    writeFileSync(first.file, torn);
    const third = await spool.storeLocalFile(original);
    expect(fillingFile(third.file)).toBeDefined();
    await third.copy.start();
    expect(readFileSync(third.file).equals(data)).toBe(true);
    expect(listing()).toEqual([first.id]);
  });

  it('fails the copy when the file was changed in place after it was hashed: readers hear it, nothing is kept', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(6 * MiB, 24);
    const original = join(dir, 'changing.bin');
    writeFileSync(original, data);
    const clip = await spool.storeLocalFile(original);
    // Written in place (the same file, as `cp new FILE` does) before the copy is made.
    const fd = openSync(original, 'r+');
    writeSync(fd, Buffer.from([data[6 * MiB - 1]! ^ 1]), 0, 1, 6 * MiB - 1);
    closeSync(fd);
    const err = await rejection(clip.copy.start());
    expect(err).toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED', message: expect.stringContaining(original) });
    await expect(whenComplete(clip.file)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED' });
    const reader = new ClipReader({ file: clip.file }, clip.size);
    await expect(reader.read(5 * MiB, MiB)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED' });
    await reader.close();
    expect(listing()).toEqual([]);
  });

  it('refuses a file over maxBytes, and a file that cannot be read, keeping nothing of either', async () => {
    const spool = await Spool.open(spoolDir);
    const original = join(dir, 'big.bin');
    writeFileSync(original, bytes(300 * KiB, 22));
    expect((await rejection(spool.storeLocalFile(original, { maxBytes: 200 * KiB }))).code).toBe('CLIPSYNC_ERR_CLIP_TOO_LARGE');
    await expect(spool.storeLocalFile(join(dir, 'missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(listing()).toEqual([]);
  });

  it('reports a clip that is not there, and an offset outside the clip', async () => {
    const spool = await Spool.open(spoolDir);
    const missing = await rejection(spool.createReadStream('0'.repeat(64)));
    expect(missing.code).toBe('CLIPSYNC_ERR_SPOOL');
    expect(missing.hint).toMatch(/copy it again/);
    const clip = await spool.storeLocal(bytes(1000));
    expect((await rejection(spool.createReadStream(clip.id, 1001))).code).toBe('CLIPSYNC_ERR_TRANSFER');
    expect(spool.isPinned(clip.id)).toBe(false);
  });
});

describe('Spool: incoming clips', () => {
  it('writes into <id>.part and makes <id> only once size and hash match', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 5, 3);
    const meta = metaOf(data, 'image/png');
    const incoming = await spool.beginIncoming(meta);
    expect(incoming.offset).toBe(0);
    expect(incoming.resumedFrom).toBe(0);
    expect(spool.isPinned(meta.id)).toBe(true);
    for (const piece of pieces(data, 100_000)) await incoming.write(piece);
    expect(listing()).toEqual([`${meta.id}.part`, `${meta.id}.part.json`]);
    expect(mode(join(spoolDir, `${meta.id}.part`))).toBe(0o600);
    expect(mode(join(spoolDir, `${meta.id}.part.json`))).toBe(0o600);
    // Sidecar version 3: the id proves the leaves and formats, so it is all the sidecar names.
    expect(JSON.parse(readFileSync(join(spoolDir, `${meta.id}.part.json`), 'utf8'))).toEqual({ version: 3, id: meta.id, size: data.length, offset: 0 });

    const clip = await incoming.finish();
    expect(clip).toEqual({ id: meta.id, size: data.length, file: join(spoolDir, meta.id) });
    expect(listing()).toEqual([meta.id]);
    expect(mode(clip.file)).toBe(0o600);
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    expect(spool.isPinned(meta.id)).toBe(false);
    expect((await rejection(incoming.write(Buffer.alloc(1)))).code).toBe('CLIPSYNC_ERR_SPOOL');
  });

  it('resumes after a crash from the last checkpoint, cutting off a torn tail', async () => {
    const spool = await Spool.open(spoolDir, { checkpointEveryBytes: MiB });
    const data = bytes(4 * MiB, 4);
    const meta = metaOf(data);
    const incoming = await spool.beginIncoming(meta);
    // Checkpoints run in the background as the stream goes on; make the one at 2 MiB explicit.
    for (const piece of pieces(data.subarray(0, 2 * MiB), 256 * KiB)) await incoming.write(piece);
    await incoming.checkpoint();
    for (const piece of pieces(data.subarray(2 * MiB, 2.5 * MiB), 256 * KiB)) await incoming.write(piece);
    expect(incoming.offset).toBe(2.5 * MiB);
    expect(incoming.checkpointed).toBe(2 * MiB);

    // kill -9 now: the disk holds the part (2.5 MiB, the last 0.5 MiB never synced) and the sidecar.
    // Copy that state to a second home and tear the tail, as a crash during a write may.
    const afterCrash = join(dir, 'restarted');
    mkdirSync(afterCrash, { mode: 0o700 });
    for (const name of readdirSync(spoolDir)) copyFileSync(join(spoolDir, name), join(afterCrash, name));
    appendFileSync(join(afterCrash, `${meta.id}.part`), bytes(3000, 99));

    const restarted = await Spool.open(afterCrash);
    const resumed = await restarted.beginIncoming(meta);
    expect(resumed.offset).toBe(2 * MiB);
    expect(resumed.resumedFrom).toBe(2 * MiB);
    expect(statSync(join(afterCrash, `${meta.id}.part`)).size).toBe(2 * MiB);
    for (const piece of pieces(data.subarray(resumed.offset), 256 * KiB)) await resumed.write(piece);
    const clip = await resumed.finish();
    expect(readFileSync(clip.file).equals(data)).toBe(true);
    expect(listing(afterCrash)).toEqual([meta.id]);

    await incoming.abort(false);
    expect(listing()).toEqual([]);
  });

  it('never records a checkpoint past the bytes in the part file, with chunks of any size (direct I/O holds back a partial block)', async () => {
    const spool = await Spool.open(spoolDir, { checkpointEveryBytes: 256 * KiB });
    const data = bytes(3 * MiB + 17, 8);
    const meta = metaOf(data);
    const part = join(spoolDir, `${meta.id}.part`);
    const sidecar = join(spoolDir, `${meta.id}.part.json`);
    const incoming = await spool.beginIncoming(meta);
    const written = pieces(data, 100_003);
    for (const [i, piece] of written.slice(0, -3).entries()) {
      await incoming.write(piece);
      // One checkpoint for sure past the first leaf; the others come in the background as they may.
      if (i === 20) await incoming.checkpoint();
      const recorded = (JSON.parse(readFileSync(sidecar, 'utf8')) as { offset: number }).offset;
      expect(recorded).toBeLessThanOrEqual(statSync(part).size);
      expect(incoming.offset - statSync(part).size).toBeLessThan(MAX_UNWRITTEN_BYTES);
    }
    // A crash now: a new daemon resumes from the recorded offset and the clip still verifies.
    const afterCrash = join(dir, 'restarted');
    mkdirSync(afterCrash, { mode: 0o700 });
    for (const name of readdirSync(spoolDir)) copyFileSync(join(spoolDir, name), join(afterCrash, name));
    const resumed = await (await Spool.open(afterCrash)).beginIncoming(meta);
    expect(resumed.offset).toBeGreaterThan(0);
    for (const piece of pieces(data.subarray(resumed.offset), 100_003)) await resumed.write(piece);
    expect(readFileSync((await resumed.finish()).file).equals(data)).toBe(true);
    await incoming.abort(false);
  });

  it('proves a resumed part leaf by leaf: a leaf damaged on disk is cut off with what follows it, received again, and the clip verifies', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(5 * MiB + 300, 5);
    const meta = metaOf(data);
    const first = await spool.beginIncoming(meta);
    await first.write(data.subarray(0, 4 * MiB + 100));
    await first.abort(true);
    const part = join(spoolDir, `${meta.id}.part`);
    const damaged = readFileSync(part);
    damaged[2 * MiB + 10] ^= 0xff; // in leaf 2
    writeFileSync(part, damaged);

    const second = await spool.beginIncoming(meta);
    expect(second.offset).toBe(2 * MiB);
    expect(statSync(part).size).toBe(2 * MiB);
    await second.write(data.subarray(2 * MiB));
    expect(readFileSync((await second.finish()).file).equals(data)).toBe(true);
  });

  it('keeps bytes past the last whole leaf only when they end the clip', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 300, 15);
    const meta = metaOf(data);
    const first = await spool.beginIncoming(meta);
    await first.write(data.subarray(0, MiB + 5000));
    await first.abort(true);
    const second = await spool.beginIncoming(meta);
    expect(second.offset).toBe(MiB); // the 5000 bytes after the leaf cannot be proven alone
    await second.write(data.subarray(MiB));
    await second.abort(true);
    const third = await spool.beginIncoming(meta);
    expect(third.offset).toBe(data.length); // the whole clip was kept: its last, short leaf is proven too
    expect(readFileSync((await third.finish()).file).equals(data)).toBe(true);
  });

  it('catches a whole part damaged on disk before the end: the last leaf does not match', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(300 * KiB, 5);
    const meta = metaOf(data);
    const first = await spool.beginIncoming(meta);
    await first.write(data);
    await first.abort(true);
    const part = join(spoolDir, `${meta.id}.part`);
    const damaged = readFileSync(part);
    damaged[10] ^= 0xff;
    writeFileSync(part, damaged);
    // The only leaf, kept whole and damaged: proven false, so received again from the start.
    const second = await spool.beginIncoming(meta);
    expect(second.offset).toBe(0);
    await second.write(data);
    expect(readFileSync((await second.finish()).file).equals(data)).toBe(true);
  });

  it('abort(true) keeps the part for a resume in the same process; abort(false) deletes it', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(3 * MiB, 6);
    const meta = metaOf(data);
    const first = await spool.beginIncoming(meta);
    await first.write(data.subarray(0, 2 * MiB));
    expect(first.checkpointed).toBe(0);
    await first.suspend();
    expect(spool.isPinned(meta.id)).toBe(false);

    const second = await spool.beginIncoming(meta);
    expect(second.offset).toBe(2 * MiB);
    await second.abort(false);
    expect(listing()).toEqual([]);

    const third = await spool.beginIncoming(meta);
    expect(third.offset).toBe(0);
    await third.discard();
  });

  it('starts over when the sidecar is missing, unreadable or for other bytes, and never trusts more than the part holds', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(3 * MiB, 7);
    const meta = metaOf(data);
    const part = join(spoolDir, `${meta.id}.part`);
    const sidecar = join(spoolDir, `${meta.id}.part.json`);
    const resumeAfter = async (damage: () => void): Promise<number> => {
      const incoming = await spool.beginIncoming(meta);
      await incoming.write(data.subarray(incoming.offset, 2 * MiB + 150 * KiB));
      await incoming.abort(true);
      damage();
      const next = await spool.beginIncoming(meta);
      const offset = next.offset;
      expect(statSync(part).size).toBe(offset);
      await next.abort(false);
      return offset;
    };
    // Resumes start on a leaf boundary: the 150 KiB past the second leaf are received again.
    expect(await resumeAfter(() => undefined)).toBe(2 * MiB);
    expect(await resumeAfter(() => truncateSync(sidecar, 0))).toBe(0);
    expect(await resumeAfter(() => writeFileSync(sidecar, '{"version":3,'))).toBe(0);
    const write = (sidecarFields: object) => () => writeFileSync(sidecar, JSON.stringify({ version: 3, id: meta.id, size: meta.size, offset: 2 * MiB + 150 * KiB, ...sidecarFields }));
    // The sidecar as written, rewritten as it is: still a resume point.
    expect(await resumeAfter(write({}))).toBe(2 * MiB);
    expect(await resumeAfter(write({ size: meta.size + 1 }))).toBe(0);
    expect(await resumeAfter(write({ offset: -5 }))).toBe(0);
    // Parts from protocol versions 1 and 2 (ids over other hashes) start over.
    expect(await resumeAfter(write({ version: 2, trailer: formatsTrailer([{ mime: 'application/octet-stream', size: meta.size }]).toString('hex') }))).toBe(0);
    expect(await resumeAfter(() => writeFileSync(sidecar, JSON.stringify({ version: 1, id: meta.id, size: meta.size, mime: 'application/octet-stream', offset: 150 * KiB })))).toBe(0);
    // A part shorter than its checkpoint claims (lost on disk): resume from the whole leaves there.
    expect(await resumeAfter(() => truncateSync(part, MiB + 70 * KiB))).toBe(MiB);
  });

  it('rejects a clip whose bytes are not its id, and keeps nothing', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(400 * KiB, 8);
    const other = bytes(400 * KiB, 9);
    const incoming = await spool.beginIncoming(metaOf(other));
    for (const piece of pieces(data, 64 * KiB)) await incoming.write(piece);
    const err = await rejection(incoming.finish());
    expect(err.code).toBe('CLIPSYNC_ERR_HASH_MISMATCH');
    expect(err.message).toMatch(/discarded/);
    expect(listing()).toEqual([]);
    expect(spool.isPinned(metaOf(other).id)).toBe(false);
    // The id is free again for an honest sender.
    const again = await spool.beginIncoming(metaOf(other));
    expect(again.offset).toBe(0);
    await again.discard();
  });

  it('rejects more bytes than announced, and an end before all of them, keeping nothing', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(100 * KiB, 10);
    const over = await spool.beginIncoming(metaOf(data));
    await over.write(data);
    const tooMany = await rejection(over.write(Buffer.alloc(1)));
    expect(tooMany.code).toBe('CLIPSYNC_ERR_TRANSFER');
    expect(listing()).toEqual([]);

    const short = await spool.beginIncoming(metaOf(data));
    await short.write(data.subarray(0, 1000));
    const early = await rejection(short.finish());
    expect(early.code).toBe('CLIPSYNC_ERR_TRANSFER');
    expect(early.message).toMatch(/only 1000 of its 102400 bytes/);
    expect(listing()).toEqual([]);
  });

  it('refuses a second transfer of a clip in progress, and ids that are not content ids', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(1000, 11);
    const first = await spool.beginIncoming(metaOf(data));
    expect((await rejection(spool.beginIncoming(metaOf(data)))).code).toBe('CLIPSYNC_ERR_TRANSFER');
    await first.discard();
    for (const id of ['../../etc/passwd', 'A'.repeat(64), `${'a'.repeat(64)}.part`, '', 'a'.repeat(63)]) {
      expect((await rejection(spool.beginIncoming({ id, size: 1, leaves: leavesOf(Buffer.alloc(1)) }))).code).toBe('CLIPSYNC_ERR_TRANSFER');
    }
    expect((await rejection(spool.beginIncoming({ ...metaOf(data), size: -1 }))).code).toBe('CLIPSYNC_ERR_TRANSFER');
    expect(listing()).toEqual([]);
    expect(readdirSync(dir)).toEqual(['spool']);
  });

  it('treats a clip already complete in the spool as received', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(50 * KiB, 12);
    const stored = await spool.storeLocal(data, { trailer: (size) => formatsTrailer([{ mime: 'text/plain', size }]) });
    const incoming = await spool.beginIncoming(metaOf(data, 'text/plain'));
    expect(incoming.alreadyComplete).toBe(true);
    expect(incoming.offset).toBe(data.length);
    expect(await incoming.finish()).toEqual({ id: stored.id, size: stored.size, file: stored.file });
    expect(listing()).toEqual([stored.id]);
  });

  it('serializes writes issued without waiting, in order', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(256 * KiB, 13);
    const incoming = await spool.beginIncoming(metaOf(data));
    await Promise.all(pieces(data, 1000).map((p) => incoming.write(p)));
    const clip = await incoming.finish();
    expect(readFileSync(clip.file).equals(data)).toBe(true);
  });
});

describe('Spool: clean-up', () => {
  it('removes by age, then the oldest until under the total, never what is pinned or in flight', async () => {
    const now = Date.UTC(2030, 0, 10);
    const spool = await Spool.open(spoolDir, { now: () => now, maxAgeMs: 7 * DAY, maxTotalBytes: 320 * KiB });
    const age = (path: string, ms: number) => utimesSync(path, (now - ms) / 1000, (now - ms) / 1000);
    const store = async (seed: number, ageMs: number) => {
      const clip = await spool.storeLocal(bytes(100 * KiB, seed));
      age(clip.file, ageMs);
      return clip.id;
    };
    const pinnedOld = await store(20, 10 * DAY);
    const old = await store(21, 9 * DAY);
    const threeHours = await store(22, 3 * 3_600_000);
    const twoHours = await store(23, 2 * 3_600_000);
    const oneHour = await store(24, 3_600_000);
    const unpin = spool.pin(pinnedOld);

    const partialData = bytes(100 * KiB, 25);
    const partial = await spool.beginIncoming(metaOf(partialData));
    await partial.write(partialData.subarray(0, 40 * KiB));
    await partial.suspend();
    for (const suffix of ['.part', '.part.json']) age(join(spoolDir, metaOf(partialData).id + suffix), 8 * DAY);

    const inFlightData = bytes(100 * KiB, 26);
    const inFlight = await spool.beginIncoming(metaOf(inFlightData));
    await inFlight.write(inFlightData.subarray(0, 10 * KiB));
    for (const suffix of ['.part', '.part.json']) age(join(spoolDir, metaOf(inFlightData).id + suffix), 30 * DAY);

    const reading = await spool.createReadStream(threeHours);
    const plan = await spool.cleanup();
    expect(plan.remove.map((r) => [r.id, r.reason]).sort()).toEqual(
      [
        [old, 'age'],
        [metaOf(partialData).id, 'age'],
        [twoHours, 'size'],
      ].sort(),
    );
    const left = listing();
    for (const id of [pinnedOld, threeHours, oneHour]) expect(left).toContain(id);
    expect(left).toContain(`${metaOf(inFlightData).id}.part`);
    expect(left.filter((n) => n.startsWith(metaOf(partialData).id))).toEqual([]);

    // Once unpinned and done, they go too.
    unpin();
    reading.destroy();
    await new Promise((resolve) => reading.once('close', resolve));
    await inFlight.suspend();
    const second = await spool.cleanup();
    expect(second.remove.map((r) => r.id).sort()).toEqual([pinnedOld, metaOf(inFlightData).id].sort());
    expect(listing()).toEqual([threeHours, oneHour].sort());
    expect(second.keptBytes).toBe(200 * KiB);
  });

  it('remove() refuses a pinned clip and removes an unpinned one', async () => {
    const spool = await Spool.open(spoolDir);
    const clip = await spool.storeLocal(bytes(1000, 30));
    const unpin = spool.pin(clip.id);
    spool.pin(clip.id)(); // pins count: one unpin leaves the other
    expect(await spool.remove(clip.id)).toBe(false);
    unpin();
    unpin(); // idempotent
    expect(await spool.remove(clip.id)).toBe(true);
    expect(listing()).toEqual([]);
  });

  describe('planCleanup', () => {
    const entry = (id: string, bytes: number, mtimeMs: number): SpoolEntry => ({ id, kind: 'complete', files: [id], bytes, mtimeMs });
    const policy = (pinned: string[] = []) => ({ now: 1000, maxAgeMs: 500, maxTotalBytes: 100, isPinned: (id: string) => pinned.includes(id) });

    it('keeps everything young and small enough', () => {
      expect(planCleanup([entry('a', 50, 900), entry('b', 50, 600)], policy())).toEqual({ remove: [], keptBytes: 100 });
    });

    it('removes the old first, then the oldest of the rest', () => {
      const plan = planCleanup([entry('new', 60, 990), entry('old', 10, 100), entry('mid', 60, 700)], policy());
      expect(plan.remove.map((r) => [r.id, r.reason])).toEqual([
        ['old', 'age'],
        ['mid', 'size'],
      ]);
      expect(plan.keptBytes).toBe(60);
    });

    it('stops at pinned entries, even when they alone are over the total', () => {
      const plan = planCleanup([entry('p', 300, 0), entry('q', 10, 990)], policy(['p']));
      expect(plan.remove.map((r) => r.id)).toEqual(['q']);
      expect(plan.keptBytes).toBe(300);
    });
  });
});

describe('Spool: bounded memory', () => {
  const total = 64 * MiB;
  const chunk = 64 * KiB;
  /** Chunk `i` of a 64 MiB clip, made on demand (no clip-sized buffer anywhere in the test either). */
  const chunkAt = (i: number) => {
    const b = Buffer.alloc(chunk, i & 0xff);
    b.writeUInt32BE(i, 0);
    return b;
  };
  const trailer = formatsTrailer([{ mime: 'application/octet-stream', size: total }]);
  const expectedLeaves = (() => {
    const h = new LeafHasher();
    for (let i = 0; i < total / chunk; i++) h.update(chunkAt(i));
    return h.finish();
  })();
  const expectedId = rootId(expectedLeaves, trailer);

  it('stores 64 MiB from a stream pulling it only as fast as it is written', async () => {
    const spool = await Spool.open(spoolDir);
    let produced = 0;
    let hashed = 0;
    let maxAhead = 0;
    let largestHashed = 0;
    const update = LeafHasher.prototype.update;
    vi.spyOn(LeafHasher.prototype, 'update').mockImplementation(function (this: LeafHasher, data: Uint8Array, onLeaf?: (index: number, hash: Buffer) => void) {
      hashed += data.length;
      largestHashed = Math.max(largestHashed, data.length);
      return update.call(this, data, onLeaf);
    });
    let index = 0;
    const source = new Readable({
      highWaterMark: chunk,
      read() {
        if (produced >= total) return void this.push(null);
        produced += chunk;
        maxAhead = Math.max(maxAhead, produced - hashed);
        this.push(chunkAt(index++));
      },
    });
    const clip = await spool.storeLocal(source, { trailer: () => trailer });
    expect(clip.id).toBe(expectedId);
    expect(clip.size).toBe(total);
    // The spool never pulled more than a few chunks ahead of what it hashed and wrote.
    expect(maxAhead).toBeLessThanOrEqual(4 * chunk);
    // A stream's iterator hands over what it has buffered: at most its highWaterMark and one chunk.
    expect(largestHashed).toBeLessThanOrEqual(2 * chunk);
  });

  it('receives 64 MiB with no more than a few writes under way behind it, and sends it in chunks of the asked size', async () => {
    const spool = await Spool.open(spoolDir, { checkpointEveryBytes: 16 * MiB });
    const meta: IncomingMeta = { id: expectedId, size: total, leaves: expectedLeaves };
    const incoming = await spool.beginIncoming(meta);
    const part = join(spoolDir, `${meta.id}.part`);
    for (let i = 0; i < total / chunk; i++) {
      await incoming.write(chunkAt(i));
      // Nothing is held back in memory: what was accepted is in the file, or on its way there
      // in one of the appender's few staging buffers.
      if (i % 64 === 0) expect(incoming.offset - statSync(part).size).toBeLessThan(MAX_UNWRITTEN_BYTES);
    }
    await incoming.checkpoint();
    expect(incoming.checkpointed).toBe(total);
    const clip = await incoming.finish();

    const stream = await spool.createReadStream(clip.id, 0, DEFAULT_SPOOL_CHUNK_BYTES);
    expect(stream.readableHighWaterMark).toBe(DEFAULT_SPOOL_CHUNK_BYTES);
    const hasher = new LeafHasher();
    let largest = 0;
    let read = 0;
    for await (const piece of stream) {
      const b = piece as Buffer;
      largest = Math.max(largest, b.length);
      read += b.length;
      hasher.update(b);
    }
    expect(read).toBe(total);
    expect(largest).toBe(DEFAULT_SPOOL_CHUNK_BYTES);
    expect(rootId(hasher.finish(), trailer)).toBe(clip.id);
    expect(spool.isPinned(clip.id)).toBe(false);
  });
});

describe('Spool: write errors', () => {
  it('maps file system errors to codes with a hint', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    const full = spoolIoError(err('ENOSPC'), 'writing', '/x/spool');
    expect(full.code).toBe('CLIPSYNC_ERR_DISK_FULL');
    expect(full.message).toMatch(/\/x\/spool.*full/);
    expect(full.hint).toMatch(/free some disk space/);
    expect(spoolIoError(err('EDQUOT'), 'writing', '/x').code).toBe('CLIPSYNC_ERR_DISK_FULL');
    const denied = spoolIoError(err('EACCES'), 'writing', '/x/spool');
    expect(denied.code).toBe('CLIPSYNC_ERR_SPOOL');
    expect(denied.hint).toMatch(/chmod 700 \/x\/spool/);
    expect(spoolIoError(err('EIO'), 'writing', '/x').message).toMatch(/EIO/);
  });

  it('on a full disk, fails with CLIPSYNC_ERR_DISK_FULL and leaves no file behind', async (ctx) => {
    const mount = join(dir, 'small');
    mkdirSync(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount], { stdio: 'pipe' });
    } catch (err) {
      const why = `mounting a 1 MiB tmpfs is not permitted here (${String(err).split('\n')[0]}); run the tests as root to include it`;
      if (process.env['CI']) throw new Error(`the disk-full test must run in CI: ${why}`);
      console.warn(`skipping the disk-full test: ${why}`);
      ctx.skip(why);
      return;
    }
    try {
      const small = join(mount, 'spool');
      const spool = await Spool.open(small);
      const data = bytes(3 * MiB, 40);
      const incoming = await spool.beginIncoming(metaOf(data));
      let failure: unknown;
      try {
        for (const piece of pieces(data, 256 * KiB)) await incoming.write(piece);
      } catch (err) {
        failure = err;
      }
      expect(failure).toBeInstanceOf(ClipsyncError);
      expect((failure as ClipsyncError).code).toBe('CLIPSYNC_ERR_DISK_FULL');
      expect((failure as ClipsyncError).hint).toMatch(/free some disk space/);
      expect(listing(small)).toEqual([]);
      expect(spool.isPinned(metaOf(data).id)).toBe(false);
      expect((await rejection(incoming.finish())).code).toBe('CLIPSYNC_ERR_SPOOL');

      const local = await rejection(spool.storeLocal(Readable.from(pieces(data, 256 * KiB))));
      expect(local.code).toBe('CLIPSYNC_ERR_DISK_FULL');
      expect(listing(small)).toEqual([]);

      // The space was given back: a small clip still fits.
      const fits = await spool.storeLocal(bytes(100 * KiB, 41));
      expect(listing(small)).toEqual([fits.id]);
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});

describe('Spool: clips stored by an older version', () => {
  it('drops clips named by protocol 2 ids (no FORMAT mark) when it opens, keeps what it did not make, and marks the spool', async () => {
    mkdirSync(spoolDir, { mode: 0o700 });
    const oldId = 'c'.repeat(64);
    for (const name of [oldId, `${oldId}.part`, `${oldId}.part.json`, 'notes.txt']) writeFileSync(join(spoolDir, name), 'x', { mode: 0o600 });
    const spool = await Spool.open(spoolDir);
    expect(readdirSync(spoolDir).sort()).toEqual(['FORMAT', 'notes.txt']);
    expect(readFileSync(join(spoolDir, 'FORMAT'), 'utf8').trim()).toBe('3');
    // From then on the spool's own clips stay across restarts.
    const stored = await spool.storeLocal(bytes(10 * KiB, 50));
    await Spool.open(spoolDir);
    expect(listing()).toEqual(['notes.txt', stored.id].sort());
  });
});

describe('Spool: a leaf that fails its check while it arrives', () => {
  it('refuses the write, keeps the leaves before it, and rewinds to them so the rest can come again', async () => {
    const spool = await Spool.open(spoolDir, { checkpointEveryBytes: MiB });
    const data = bytes(4 * MiB + 123, 60);
    const meta = metaOf(data);
    const incoming = await spool.beginIncoming(meta);
    const damaged = Buffer.from(data);
    damaged[2 * MiB + 7]! ^= 0x80; // leaf 2
    let refused: ClipsyncError | undefined;
    for (const piece of pieces(damaged, 300 * KiB)) {
      try {
        await incoming.write(piece);
      } catch (err) {
        refused = err as ClipsyncError;
        break;
      }
    }
    expect(refused?.code).toBe('CLIPSYNC_ERR_HASH_MISMATCH');
    expect(refused?.message).toMatch(/leaf 2 \(from byte 2097152\)/);
    expect(await incoming.rewind()).toBe(2 * MiB);
    expect(incoming.offset).toBe(2 * MiB);
    expect(statSync(join(spoolDir, `${meta.id}.part`)).size).toBe(2 * MiB);
    for (const piece of pieces(data.subarray(2 * MiB), 300 * KiB)) await incoming.write(piece);
    expect(readFileSync((await incoming.finish()).file).equals(data)).toBe(true);
  });
});

describe('Spool: complete files are proven before they are trusted', () => {
  it('receives a clip again when its complete file was torn (same size, other bytes), and replaces it', async () => {
    const spool = await Spool.open(spoolDir);
    const data = bytes(2 * MiB + 9, 70);
    const meta = metaOf(data);
    const torn = Buffer.from(data);
    torn.fill(0, MiB); // a crash before the unsynced tail reached the disk
    writeFileSync(join(spoolDir, meta.id), torn, { mode: 0o600 });
    const incoming = await spool.beginIncoming(meta);
    expect(incoming.alreadyComplete).toBe(false);
    expect(incoming.offset).toBe(0);
    await incoming.write(data);
    expect(readFileSync((await incoming.finish()).file).equals(data)).toBe(true);
    // Whole and right, it is taken as received.
    const again = await spool.beginIncoming(meta);
    expect(again.alreadyComplete).toBe(true);
    await again.finish();
  });
});
