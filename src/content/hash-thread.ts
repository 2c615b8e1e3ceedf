import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { fail } from '../core/errors.js';
import { CONTENT_HASH_BYTES } from './content-hash.js';

/**
 * BLAKE2b content hashing on a worker thread, for clips large enough to be spooled.
 *
 * A receiving daemon decrypts, hashes and stores every byte of a clip. On its main thread the
 * hash was the largest single cost (about a third of that thread's time in a profile of a
 * 256 MiB transfer, docs/BENCHMARKS.md) and it held up the decryption of the next frame.
 * Here the main thread only copies each chunk into a ring shared with the thread (a memcpy,
 * some fifty times cheaper than the hash) and goes on.
 *
 * One thread and one ring serve every stream, in order. The ring is fixed: copying into it
 * allocates nothing, where posting each chunk would allocate a buffer per chunk outside the
 * JS heap, and such buffers are what make V8 collect garbage during a transfer. When the ring
 * is full, `update` waits: that is the backpressure which keeps a slow thread from queueing
 * without bound (the receiver grants its sender more only after `update` resolves).
 */

const RING_BYTES = 4 * 1024 * 1024;
/** The most the thread hashes per message (it copies each piece into a buffer this big). */
const PIECE_BYTES = 256 * 1024;

/**
 * The thread's code. It is evaluated rather than loaded from a file so that the same module
 * works compiled (dist/) and from TypeScript sources under the test runner.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodium);
const ring = Buffer.from(workerData.ring);
// libsodium's binding takes only plain ArrayBuffers: each piece is copied out of the shared ring first.
const scratch = Buffer.alloc(workerData.pieceBytes);
const states = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'start') {
    const state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES);
    sodium.crypto_generichash_init(state, null, workerData.hashBytes);
    states.set(m.stream, state);
  } else if (m.op === 'update') {
    const state = states.get(m.stream);
    if (state !== undefined) {
      ring.copy(scratch, 0, m.at, m.at + m.length);
      sodium.crypto_generichash_update(state, scratch.subarray(0, m.length));
    }
    parentPort.postMessage({ op: 'consumed', length: m.length });
  } else if (m.op === 'digest') {
    const state = states.get(m.stream);
    states.delete(m.stream);
    const digest = Buffer.alloc(workerData.hashBytes);
    if (state !== undefined) sodium.crypto_generichash_final(state, digest);
    parentPort.postMessage({ op: 'digest', stream: m.stream, digest, known: state !== undefined });
  } else if (m.op === 'drop') {
    states.delete(m.stream);
  }
});
`;

type FromThread = { op: 'consumed'; length: number } | { op: 'digest'; stream: number; digest: Uint8Array; known: boolean };

class HashThread {
  private readonly worker: Worker;
  private readonly ring = new SharedArrayBuffer(RING_BYTES);
  private readonly view = Buffer.from(this.ring);
  /** Bytes copied into the ring, and bytes the thread has hashed, since the start. */
  private produced = 0;
  private consumed = 0;
  private spaceWaiters: (() => void)[] = [];
  private readonly digests = new Map<number, { resolve: (digest: Buffer) => void; reject: (err: Error) => void }>();
  private nextStream = 1;
  /** Set once the thread is gone: every pending and later call fails with it. */
  failure: Error | undefined;

  constructor() {
    const sodiumPath = createRequire(import.meta.url).resolve('sodium-native');
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { sodium: sodiumPath, ring: this.ring, pieceBytes: PIECE_BYTES, hashBytes: CONTENT_HASH_BYTES } });
    this.worker.unref(); // an idle hashing thread must not keep the daemon (or a test) alive
    this.worker.on('message', (message: FromThread) => this.onMessage(message));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the hashing thread exited (code ${code})`)));
  }

  start(): number {
    const stream = this.nextStream++;
    this.worker.postMessage({ op: 'start', stream });
    return stream;
  }

  async update(stream: number, chunk: Buffer): Promise<void> {
    for (let done = 0; done < chunk.length; ) {
      this.throwIfFailed();
      const free = RING_BYTES - (this.produced - this.consumed);
      const at = this.produced % RING_BYTES;
      // A piece never wraps around the ring's end, so the thread hashes one contiguous view.
      const length = Math.min(chunk.length - done, free, RING_BYTES - at, PIECE_BYTES);
      if (length === 0) {
        await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
        continue;
      }
      chunk.copy(this.view, at, done, done + length);
      this.produced += length;
      this.worker.postMessage({ op: 'update', stream, at, length });
      done += length;
    }
  }

  digest(stream: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      this.digests.set(stream, { resolve, reject });
      this.worker.ref(); // a digest someone waits for is work in progress
      this.worker.postMessage({ op: 'digest', stream });
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }

  drop(stream: number): void {
    if (this.failure === undefined) this.worker.postMessage({ op: 'drop', stream });
  }

  private onMessage(message: FromThread): void {
    if (message.op === 'consumed') {
      this.consumed += message.length;
      const waiters = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const wake of waiters) wake();
      return;
    }
    const pending = this.digests.get(message.stream);
    this.digests.delete(message.stream);
    if (this.digests.size === 0) this.worker.unref();
    if (pending === undefined) return;
    if (message.known) pending.resolve(Buffer.from(message.digest));
    else pending.reject(fail('CLIPSYNC_ERR_INTERNAL', 'the content hashing thread had no state for this clip', { hint: 'the clip was not kept; copy it again' }));
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private fail(cause: Error): void {
    if (this.failure !== undefined) return;
    const err = fail('CLIPSYNC_ERR_INTERNAL', `the content hashing thread stopped: ${cause.message}`, {
      hint: 'the clip in transfer was not kept and will be sent again; if this repeats, report it with the daemon log',
      cause,
    });
    this.failure = err;
    if (shared === this) shared = undefined; // the next stream gets a new thread
    for (const { reject } of this.digests.values()) reject(err);
    this.digests.clear();
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const wake of waiters) wake();
  }
}

let shared: HashThread | undefined;

/**
 * Ends the hashing thread (the daemon's shutdown). Hashes still open fail with
 * CLIPSYNC_ERR_INTERNAL, so their clips are not kept; a later hash starts a new thread.
 */
export async function stopHashThread(): Promise<void> {
  const thread = shared;
  shared = undefined;
  await thread?.stop();
}

/**
 * A BLAKE2b hash (the content id: 32 bytes, unkeyed) computed on the shared hashing thread.
 * Feed it in order with `update` (awaiting each), then `digest` once. `dispose` forgets it.
 */
export class ThreadedHash {
  private readonly thread: HashThread;
  private readonly stream: number;
  private finished = false;

  constructor() {
    shared ??= new HashThread();
    this.thread = shared;
    this.stream = this.thread.start();
  }

  /** Resolves once the chunk is copied to the thread: the caller may reuse it then. */
  update(chunk: Buffer): Promise<void> {
    return this.thread.update(this.stream, chunk);
  }

  digest(): Promise<Buffer> {
    this.finished = true;
    return this.thread.digest(this.stream);
  }

  dispose(): void {
    if (this.finished) return;
    this.finished = true;
    this.thread.drop(this.stream);
  }
}
