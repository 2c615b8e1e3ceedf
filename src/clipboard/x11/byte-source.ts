import { Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { utf8ToLatin1 } from './x11-targets.js';

/**
 * Pulls a format's bytes out of its Readable a piece at a time, as an INCR transfer asks for them.
 * Only what one piece needs (plus the stream's own buffer) is ever held, so a 30 MiB image served
 * from the spool or from a peer never sits in memory whole.
 */
export class ByteSource {
  private chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly stream: Readable) {
    const poke = (): void => {
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    };
    stream.on('readable', poke);
    stream.on('end', () => {
      this.done = true;
      poke();
    });
    stream.on('error', (err: Error) => {
      this.error = err;
      poke();
    });
    stream.on('close', poke);
  }

  /** Up to `n` bytes; fewer only at the end of the stream (an empty buffer: nothing left). */
  async take(n: number): Promise<Buffer> {
    while (this.size < n && !this.done) {
      if (this.error !== undefined) throw this.error;
      const chunk: unknown = this.stream.read();
      if (chunk !== null) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        this.chunks.push(buf);
        this.size += buf.length;
        continue;
      }
      if (this.stream.readableEnded) {
        this.done = true;
        break;
      }
      if (this.stream.destroyed) throw this.error ?? new Error('the format stream closed before its end');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.error !== undefined) throw this.error;
    return this.splice(Math.min(n, this.size));
  }

  destroy(): void {
    this.chunks = [];
    this.size = 0;
    if (!this.stream.destroyed) this.stream.destroy();
  }

  private splice(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return out;
  }
}

/** UTF-8 → Latin-1 on the fly, for requestors that ask for STRING. */
export function latin1Stream(): Transform {
  const decoder = new StringDecoder('utf8');
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, utf8ToLatin1(decoder.write(chunk)));
    },
    flush(done) {
      done(null, utf8ToLatin1(decoder.end()));
    },
  });
}
