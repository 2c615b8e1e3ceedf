import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stopHashThread, ThreadedHash } from '../../../src/content/hash-thread.js';
import { contentHash as blake2b, StreamingHash } from '../../../src/content/content-hash.js';
import { randomBytes } from '../../../src/secure/sodium.js';

const MiB = 1024 * 1024;

async function threaded(chunks: Buffer[]): Promise<string> {
  const hash = new ThreadedHash();
  for (const chunk of chunks) await hash.update(chunk);
  return (await hash.digest()).toString('hex');
}

function inline(chunks: Buffer[]): string {
  const hash = new StreamingHash();
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest().toString('hex');
}

describe('ThreadedHash', () => {
  afterAll(() => stopHashThread());

  it('gives the same content id as hashing on the main thread, for any split of the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 8 }), async (sizes) => {
        const chunks = sizes.map((size) => randomBytes(size));
        expect(await threaded(chunks)).toBe(inline(chunks));
      }),
      { numRuns: 40 },
    );
  });

  it('hashes more than the shared ring holds, and chunks larger than one piece', async () => {
    // 3 MiB chunks, 27 MiB in all: the 4 MiB ring wraps several times and each chunk is split.
    const chunks = Array.from({ length: 9 }, () => randomBytes(3 * MiB));
    expect(await threaded(chunks)).toBe(blake2b(Buffer.concat(chunks)).toString('hex'));
  });

  it('keeps interleaved streams apart', async () => {
    const a = [randomBytes(500_000), randomBytes(700_000)];
    const b = [randomBytes(1_200_000), randomBytes(10)];
    const ha = new ThreadedHash();
    const hb = new ThreadedHash();
    await Promise.all([ha.update(a[0]!), hb.update(b[0]!)]);
    await Promise.all([hb.update(b[1]!), ha.update(a[1]!)]);
    const [da, db] = await Promise.all([ha.digest(), hb.digest()]);
    expect(da.toString('hex')).toBe(inline(a));
    expect(db.toString('hex')).toBe(inline(b));
  });

  it('a chunk may be reused once update resolves', async () => {
    const buffer = randomBytes(100_000);
    const original = Buffer.from(buffer);
    const hash = new ThreadedHash();
    await hash.update(buffer);
    buffer.fill(0);
    expect((await hash.digest()).toString('hex')).toBe(inline([original]));
  });

  it('fails open hashes with a clear error when the thread stops, and starts a new thread after', async () => {
    const hash = new ThreadedHash();
    await hash.update(randomBytes(1000));
    await stopHashThread();
    await expect(hash.digest()).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_INTERNAL', message: expect.stringContaining('hashing thread stopped') });
    await expect(hash.update(randomBytes(10))).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_INTERNAL' });
    expect(await threaded([Buffer.from('after')])).toBe(inline([Buffer.from('after')]));
  });
});
