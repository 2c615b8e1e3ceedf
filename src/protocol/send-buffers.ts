/**
 * Reusable buffers for outgoing frames. A sender streaming a large clip would otherwise
 * allocate one chunk-sized buffer per frame; each is memory outside the JS heap, and V8 runs
 * full garbage collections to reclaim it, which cost the stream about a tenth of its CPU
 * (see docs/BENCHMARKS.md). A buffer returns here once the socket has written it out, and
 * the next frame of similar size takes it again.
 */
export class SendBuffers {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /**
   * @param maxFreeBytes how much idle capacity to keep between frames; beyond it, released
   *   buffers are left to the garbage collector.
   * @param granularity capacities are rounded up to a multiple of this, so frames whose
   *   headers differ by a few bytes share buffers.
   */
  constructor(
    private readonly maxFreeBytes: number,
    private readonly granularity = 64 * 1024,
  ) {}

  /** A buffer of exactly `size` bytes (a view of a pooled one when one is big enough). */
  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const candidate = this.free[i]!;
      if (candidate.length >= size && candidate.length < size * 2) {
        this.free.splice(i, 1);
        this.freeBytes -= candidate.length;
        return candidate.subarray(0, size);
      }
    }
    // Small frames are cheap to allocate (Node slices them from a shared pool): only pool big ones.
    if (size < this.granularity) return Buffer.allocUnsafe(size);
    const capacity = Math.ceil(size / this.granularity) * this.granularity;
    return Buffer.allocUnsafe(capacity).subarray(0, size);
  }

  /** Gives back a buffer from `take` once nothing reads it any more. */
  give(buffer: Buffer): void {
    if (buffer.byteLength < this.granularity) return;
    const whole = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.buffer.byteLength - buffer.byteOffset);
    if (this.freeBytes + whole.length > this.maxFreeBytes) return;
    this.free.push(whole);
    this.freeBytes += whole.length;
  }
}
