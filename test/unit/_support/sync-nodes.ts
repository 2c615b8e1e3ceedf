import { fail } from '../../../src/core/errors.js';
import { clipId, clipTree, type Clip, type ClipFormat, type ClipMeta } from '../../../src/sync/clip.js';
import { MemorySink, type ClipBody, type IncomingSink } from '../../../src/sync/clip-body.js';
import type { DeliveryResult } from '../../../src/sync/delivery.js';
import type { ClipboardPort, SpoolPort } from '../../../src/sync/ports.js';
import { SyncEngine, type SyncOptions } from '../../../src/sync/sync-engine.js';
import { TransferBoard } from '../../../src/sync/transfer-board.js';
import { FakeClock } from './fake-clock.js';
import { captureLog } from './logger.js';
import { channelPair, type MemoryChannel } from './memory-channel.js';

/**
 * Sync engines joined by in-memory channels, for the engine's unit tests: a recording clipboard
 * port, a spool port in memory whose sinks verify like the real ones, and one fake clock.
 */

/** The clipboard port as a list of what was written; `hold` keeps writes pending until released. */
export class RecordingClipboard implements ClipboardPort {
  readonly writes: Clip[] = [];
  /** Writes whose `stillCurrent` said false by the time they ran. */
  readonly superseded: Clip[] = [];
  private held: Promise<void> | undefined;

  /** Holds every write from now until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
  }

  async write(clip: Clip, stillCurrent: () => boolean): Promise<'written' | 'superseded'> {
    await this.held;
    if (!stillCurrent()) {
      this.superseded.push(clip);
      return 'superseded';
    }
    this.writes.push(clip);
    return 'written';
  }
}

/** A spool port in memory: sinks verify like the real ones; `failWrites` makes every write fail as a full disk would. */
export class MemorySpool implements SpoolPort {
  readonly pinned = new Set<string>();
  failWrites = false;
  readonly stored = new Map<string, Buffer>();
  private held: Promise<void> | undefined;

  /** Holds every write from now until the returned function is called: a slow disk. */
  holdWrites(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
  }

  async beginIncoming(meta: ClipMeta): Promise<IncomingSink> {
    const inner = new MemorySink(meta);
    const spool = this;
    return {
      get offset() {
        return inner.offset;
      },
      async write(chunk) {
        await spool.held;
        if (spool.failWrites) throw fail('CLIPSYNC_ERR_DISK_FULL', 'the disk holding the spool is full');
        await inner.write(chunk);
      },
      rewind: () => inner.rewind(),
      async finish(): Promise<ClipBody> {
        const body = await inner.finish();
        spool.stored.set(meta.id, body.data!);
        return { file: `/spool/${meta.id}` };
      },
      suspend: () => inner.suspend(),
      discard: () => inner.discard(),
    };
  }
  pin(id: string): void {
    this.pinned.add(id);
  }
  unpin(id: string): void {
    this.pinned.delete(id);
  }
  async storeLocal(): Promise<never> {
    throw new Error('not used here');
  }
  async storeLocalFile(): Promise<never> {
    throw new Error('not used here');
  }
}

export interface Node {
  name: string;
  fingerprint: string;
  engine: SyncEngine;
  clipboard: RecordingClipboard;
  spool: MemorySpool;
  transfers: TransferBoard;
  log: ReturnType<typeof captureLog>;
}

/** Makes engines on one fake clock and shuts them all down at the end of each test. */
export class SyncNodes {
  private readonly engines: SyncEngine[] = [];

  constructor(readonly clock = new FakeClock()) {}

  node(name: string, options: Partial<SyncOptions> = {}): Node {
    const clipboard = new RecordingClipboard();
    const spool = new MemorySpool();
    const transfers = new TransferBoard(() => this.clock.now());
    const log = captureLog();
    const fingerprint = `SHA256:${name}`;
    const engine = new SyncEngine({
      ownFingerprint: fingerprint,
      clipboard,
      maxClipBytes: 64 * 1024 * 1024,
      windowBytes: 1024 * 1024,
      spoolThresholdBytes: 8 * 1024 * 1024,
      spool,
      deliveryGraceMs: 30_000,
      transfers,
      log: log.log,
      clock: this.clock,
      ...options,
    });
    this.engines.push(engine);
    return { name, fingerprint, engine, clipboard, spool, transfers, log };
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.engines.splice(0).map((e) => e.shutdown()));
  }
}

/** Joins two engines with an in-memory channel pair; returns [a's end, b's end]. */
export function connect(a: Node, b: Node, maxBodyBytes = 64 * 1024): [MemoryChannel, MemoryChannel] {
  const [toB, toA] = channelPair(maxBodyBytes);
  a.engine.attach({ fingerprint: b.fingerprint, name: b.name, channel: toB });
  b.engine.attach({ fingerprint: a.fingerprint, name: a.name, channel: toA });
  return [toB, toA];
}

/** The arguments `copyLocal` takes for `data` as one format of `mime`: `copyLocal(...local(data, mime), 'cli')`. */
export function local(data: Buffer, mime: string): [{ data: Buffer }, ClipFormat[]] {
  return [{ data }, [{ mime, size: data.length }]];
}

/** The content id of `data` as one format of `mime`. */
export function idOf(data: Buffer, mime: string): string {
  return clipId([{ mime, size: data.length }], data);
}

/** An OFFER for `data` as one format of `mime`, as a peer would send it: its header and body (the leaf hashes). */
export function offerOf(data: Buffer, mime: string, ts: number, origin: string): [Record<string, unknown>, Buffer] {
  const formats = [{ mime, size: data.length }];
  const { id, leaves } = clipTree(formats, data);
  return [{ id, formats, size: data.length, ts, origin }, leaves];
}

export const holds = (n: Node, data: Buffer, mime: string): boolean => n.engine.currentClip()?.id === idOf(data, mime);
export const sentOfType = (channel: MemoryChannel, type: number) => channel.sent.filter((f) => f.type === type);

export async function delivered(deliveries: { result: Promise<DeliveryResult> }[]): Promise<DeliveryResult[]> {
  return Promise.all(deliveries.map((d) => d.result));
}
