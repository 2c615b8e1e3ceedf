import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { fail } from '../core/errors.js';
import { BINARY_MIME, TEXT_MIME } from '../sync/clip.js';
import type { LocalBody } from '../sync/sync-engine.js';
import type { LocalFileCopy, SpoolPort } from '../sync/ports.js';

/** What the copy route needs from the spool: store a stream under its content id. */
export type LocalStore = Pick<SpoolPort, 'storeLocal' | 'storeLocalFile'>;

export interface ReceivedCopy {
  body: LocalBody;
  /** The type given with --mime, else text/plain when every byte was valid UTF-8, else octet-stream. */
  mime: string;
  /**
   * `copy FILE` of a large file: the clip may be offered at once, its copy in the spool made
   * when the route says (start), or let go if the clip is refused (cancel).
   */
  copy?: LocalFileCopy;
}

/**
 * Reads the body of `clipsync copy`. Up to `threshold` bytes stay in memory; a larger body
 * is streamed into the spool as it arrives, so copying a 512 MiB file costs the daemon no
 * more memory than copying 9 MiB. Anything over `limit` is refused with the limit named.
 */
export async function receiveCopyBody(req: IncomingMessage, mime: string | null, limit: number, threshold: number, store: LocalStore | undefined): Promise<ReceivedCopy> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, declared);
  // Not destroyed when we stop early (an oversized body): the server answers first and
  // then drains what is left, so the client reads the refusal instead of a reset.
  const iterator = req.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
  try {
    return await readCopyBody(iterator, mime, limit, threshold, store);
  } catch (err) {
    await iterator.return?.();
    throw err;
  }
}

/** The bytes of a copy from any source of chunks (a request body, or a file the daemon reads). */
export async function readCopyBody(iterator: AsyncIterator<Buffer>, mime: string | null, limit: number, threshold: number, store: LocalStore | undefined): Promise<ReceivedCopy> {
  const utf8 = new Utf8Check();
  const typeOf = (): string => mime ?? utf8.mime();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return { body: { data: Buffer.concat(chunks, total) }, mime: typeOf() };
    const chunk = next.value;
    total += chunk.length;
    if (total > limit) throw tooLarge(limit);
    utf8.update(chunk);
    chunks.push(chunk);
    if (total > threshold && store !== undefined) break;
  }
  // Past the threshold: what arrived so far, then the rest of the request, into the spool,
  // in slices of about 1 MiB: the socket delivers 64 KiB pieces, and each piece written to
  // the file on its own costs a round trip to the I/O thread pool, which capped a 256 MiB
  // copy at about 70 MB/s.
  const rest = new PassThrough({ highWaterMark: 2 * SLICE_BYTES });
  const slice = new SliceBuffer(SLICE_BYTES);
  const push = async (chunk: Buffer): Promise<void> => {
    for (const out of slice.add(chunk)) if (!rest.write(out)) await waitDrain(rest);
  };
  const pump = (async () => {
    for (const chunk of chunks) await push(chunk);
    chunks.length = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      total += next.value.length;
      if (total > limit) throw tooLarge(limit);
      utf8.update(next.value);
      await push(next.value);
    }
    const last = slice.flush();
    if (last !== undefined && !rest.write(last)) await waitDrain(rest);
    rest.end();
  })();
  pump.catch((err: unknown) => rest.destroy(err as Error));
  // The id covers the type, known once the last byte is in (the UTF-8 guess).
  const [stored] = await Promise.all([store.storeLocal(rest, (size) => [{ mime: typeOf(), size }]), pump]);
  return { body: { file: stored.path, id: stored.id, size: stored.size, leaves: stored.leaves }, mime: typeOf() };
}

const SLICE_BYTES = 1024 * 1024;

/** Gathers small pieces into slices of `size` bytes (the last one may be shorter). */
class SliceBuffer {
  private buffer: Buffer;
  private used = 0;

  constructor(private readonly size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  /** The slices that `chunk` completes; they are handed over and not touched again. */
  add(chunk: Buffer): Buffer[] {
    const full: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      const n = chunk.copy(this.buffer, this.used, at);
      this.used += n;
      at += n;
      if (this.used === this.size) {
        full.push(this.buffer);
        this.buffer = Buffer.allocUnsafe(this.size);
        this.used = 0;
      }
    }
    return full;
  }

  flush(): Buffer | undefined {
    if (this.used === 0) return undefined;
    const last = this.buffer.subarray(0, this.used);
    this.used = 0;
    return last;
  }
}

function waitDrain(stream: PassThrough): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      stream.off('drain', onDrain);
      reject(err);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

/** UTF-8 validity checked chunk by chunk, so a spooled body needs no second read. */
export class Utf8Check {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private valid = true;

  update(chunk: Buffer): void {
    if (!this.valid) return;
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.valid = false;
    }
  }

  mime(): string {
    if (!this.valid) return BINARY_MIME;
    try {
      this.decoder.decode(); // an unfinished sequence at the end is not valid text
      return TEXT_MIME;
    } catch {
      return BINARY_MIME;
    }
  }
}

export function tooLarge(limit: number, size?: number): Error {
  const what = size === undefined ? 'the clip is' : `the clip of ${size} bytes is`;
  return fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `${what} larger than the limit of ${limit} bytes`, {
    hint: 'raise maxClipBytes in config.json on every machine to send larger clips',
  });
}
