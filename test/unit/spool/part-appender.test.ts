import { constants, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIRECT_ALIGN, MAX_UNWRITTEN_BYTES, PartAppender, WRITES_IN_FLIGHT } from '../../../src/spool/part-appender.js';
import { Prng } from '../../helpers/prng.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

let dir: string;
let path: string;
let file: FileHandle;
beforeEach(async () => {
  dir = makeTempDir('append-');
  path = join(dir, 'clip.part');
  writeFileSync(path, '');
  file = await open(path, constants.O_RDWR);
});
afterEach(async () => {
  await file.close();
  removeDir(dir);
});

/** Whether this file system takes O_DIRECT at all (tmpfs before Linux 6.6 does not). */
async function directSupported(): Promise<boolean> {
  const probe = await open(path, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
  await probe?.close();
  return probe !== undefined;
}

/** Appends `data` in pieces of the sizes `prng` picks (up to 1.2 MiB: larger than the staging room). */
async function appendInPieces(appender: PartAppender, data: Buffer, prng: Prng, check: () => Promise<void> | void = () => undefined): Promise<void> {
  const base = appender.appended;
  for (let at = 0; at < data.length; ) {
    const length = Math.min(data.length - at, 1 + Math.floor(prng.next() * 1.2 * 1024 * 1024));
    const piece = data.subarray(at, at + length);
    const copy = Buffer.from(piece);
    await appender.append(piece);
    piece.fill(0xa5); // the caller may reuse a chunk as soon as append resolves
    piece.set(copy); // (restored: `data` is compared with the file at the end)
    at += length;
    expect(appender.appended).toBe(base + at);
    await check();
  }
}

describe('PartAppender', () => {
  it('with direct I/O, writes whole blocks as chunks of any size arrive and keeps at most a partial block back', async () => {
    const prng = new Prng(11);
    const data = prng.bytes(5 * 1024 * 1024 + 777);
    const appender = await PartAppender.open(path, file, 0);
    expect(appender.isDirect).toBe(await directSupported());
    let behind = 0;
    await appendInPieces(appender, data, prng, async () => {
      // Whole blocks may still be on their way to the disk, a few staging buffers' worth at most.
      expect(statSync(path).size).toBeGreaterThanOrEqual(appender.written);
      behind = Math.max(behind, appender.appended - appender.written);
      expect(appender.appended - appender.written).toBeLessThan(MAX_UNWRITTEN_BYTES);
      // Once settled, the file holds every whole block; only the partial one waits for the next chunk.
      await appender.settle();
      expect(statSync(path).size).toBe(appender.written);
      if (appender.isDirect) {
        expect(appender.written % DIRECT_ALIGN).toBe(0);
        expect(appender.appended - appender.written).toBeLessThan(DIRECT_ALIGN);
      } else expect(appender.written).toBe(appender.appended);
    });
    if (appender.isDirect) expect(behind).toBeGreaterThanOrEqual(DIRECT_ALIGN); // writes did go on behind append
    await appender.flush();
    expect(appender.written).toBe(data.length);
    expect(readFileSync(path).equals(data)).toBe(true);
    await appender.close();
  });

  it('with one write under way at most, no more than one staging buffer is behind the file when append resolves', async () => {
    const prng = new Prng(19);
    const data = prng.bytes(3 * 1024 * 1024 + 321);
    const appender = await PartAppender.open(path, file, 0, { writesInFlight: 1 });
    await appendInPieces(appender, data, prng, () => {
      // The one write may still be under way; the one before it is done.
      expect(appender.appended - appender.written).toBeLessThan(MAX_UNWRITTEN_BYTES / WRITES_IN_FLIGHT + DIRECT_ALIGN);
    });
    await appender.flush();
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('through the page cache when asked, every byte is in the file as soon as append resolves', async () => {
    const prng = new Prng(12);
    const data = prng.bytes(3 * 1024 * 1024 + 5);
    const appender = await PartAppender.open(path, file, 0, { direct: false });
    expect(appender.isDirect).toBe(false);
    await appendInPieces(appender, data, prng, () => expect(statSync(path).size).toBe(appender.appended));
    await appender.flush();
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('resumes at an offset that is not on a block boundary: the partial block is read back, not lost', async () => {
    const prng = new Prng(13);
    const data = prng.bytes(2 * 1024 * 1024 + 1234);
    const resumeAt = 3 * DIRECT_ALIGN + 1001;
    writeFileSync(path, data.subarray(0, resumeAt));
    const appender = await PartAppender.open(path, file, resumeAt);
    expect(appender.appended).toBe(resumeAt);
    await appendInPieces(appender, data.subarray(resumeAt), new Prng(14));
    await appender.flush();
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('after flush, later appends go on from the unaligned end', async () => {
    const data = new Prng(15).bytes(100_003);
    const appender = await PartAppender.open(path, file, 0);
    await appender.append(data.subarray(0, 50_001));
    await appender.flush();
    expect(statSync(path).size).toBe(50_001);
    await appender.append(data.subarray(50_001));
    await appender.flush();
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('a direct write that fails rejects a later append or flush, and close still waits for the writes under way', async () => {
    const data = new Prng(18).bytes(3 * 1024 * 1024);
    let writes = 0;
    let finishWrite: (() => void) | undefined;
    const failing = {
      write: async (_data: Buffer, _offset: number, length: number) => {
        writes++;
        if (writes === 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        await new Promise<void>((resolve) => (finishWrite = resolve));
        return { bytesWritten: length };
      },
      close: async () => undefined,
    } as unknown as FileHandle;
    const appender = await PartAppender.open(path, file, 0, { openDirect: async () => failing });
    let failure: unknown;
    try {
      for (let at = 0; at < data.length; at += 512 * 1024) await appender.append(data.subarray(at, at + 512 * 1024));
      await appender.flush();
    } catch (err) {
      failure = err;
    }
    expect((failure as NodeJS.ErrnoException).code).toBe('ENOSPC');
    // The second write never finishes until told to: close waits for it rather than freeing its memory.
    let closed = false;
    const closing = appender.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(writes < 2); // nothing left under way only when the failure came first
    finishWrite?.();
    await closing;
    expect(closed).toBe(true);
  });

  // Last in this file: a refusal turns direct I/O off for the rest of the process.
  it('falls back to the page cache, losing nothing, when a direct write is refused with EINVAL', async () => {
    const data = new Prng(16).bytes(2 * 1024 * 1024 + 99);
    let refused = 0;
    const refusing = {
      write: async () => {
        refused++;
        throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
      },
      close: async () => undefined,
    } as unknown as FileHandle;
    const appender = await PartAppender.open(path, file, 0, { openDirect: async () => refusing });
    expect(appender.isDirect).toBe(true);
    await appendInPieces(appender, data, new Prng(17));
    // The writes already under way when the first refusal came back are refused too.
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(WRITES_IN_FLIGHT);
    expect(appender.isDirect).toBe(false);
    await appender.flush();
    expect(readFileSync(path).equals(data)).toBe(true);
    // Later parts in this process are not offered direct I/O again.
    const next = await PartAppender.open(path, file, data.length);
    expect(next.isDirect).toBe(false);
  });
});
