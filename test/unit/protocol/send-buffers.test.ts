import { describe, expect, it } from 'vitest';
import { SendBuffers } from '../../../src/protocol/send-buffers.js';

describe('SendBuffers', () => {
  it('hands a given-back buffer out again for a frame of similar size', () => {
    const pool = new SendBuffers(1024 * 1024);
    const first = pool.take(256 * 1024 + 100);
    expect(first.length).toBe(256 * 1024 + 100);
    pool.give(first);
    const second = pool.take(256 * 1024 + 80);
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(256 * 1024 + 80);
  });

  it('does not hand out a buffer while it is taken', () => {
    const pool = new SendBuffers(1024 * 1024);
    const a = pool.take(100_000);
    const b = pool.take(100_000);
    expect(b.buffer).not.toBe(a.buffer);
  });

  it('does not pool small frames, nor keep more idle capacity than allowed', () => {
    const pool = new SendBuffers(200 * 1024);
    const small = pool.take(100);
    pool.give(small);
    const next = pool.take(100);
    expect(next.buffer === small.buffer && next.byteOffset === small.byteOffset).toBe(false);
    const bufs = [pool.take(128 * 1024), pool.take(128 * 1024)];
    for (const b of bufs) pool.give(b);
    // Only one 128 KiB buffer fit under the 200 KiB cap.
    const again = [pool.take(128 * 1024), pool.take(128 * 1024)];
    const reused = again.filter((b) => bufs.some((x) => x.buffer === b.buffer));
    expect(reused).toHaveLength(1);
  });

  it('does not waste a huge buffer on a small frame', () => {
    const pool = new SendBuffers(8 * 1024 * 1024);
    const big = pool.take(1024 * 1024);
    pool.give(big);
    expect(pool.take(70_000).buffer).not.toBe(big.buffer);
  });
});
