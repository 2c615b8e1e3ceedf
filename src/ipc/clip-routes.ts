import { createReadStream } from 'node:fs';
import { whenComplete } from '../core/filling-files.js';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../core/clock.js';
import { fail } from '../core/errors.js';
import { TEXT_MIME, findFormat, formatOffsets, isLocal, isValidMime, mainFormat, type Clip, type ClipFormat } from '../sync/clip.js';
import { ClipReader, bodyOf } from '../sync/clip-body.js';
import { manifestView } from './files-view.js';
import type { DeliveryResult } from '../sync/delivery.js';
import type { ServerResponse } from 'node:http';
import { receiveCopyBody, type ReceivedCopy } from './copy-body.js';
import { readCopyFile } from './copy-file.js';
import type { ClipDesk, DaemonView } from './daemon-view.js';
import { streamProgress } from './ndjson.js';
import { CLIP_HEADERS, type CopyResponse, type FetchResponse, type PasteListResponse } from './schema.js';
import type { RouteTable } from './server.js';

/** One peer's pending answer to a copy, as the engine hands it out. */
type PendingDelivery = Awaited<ReturnType<ClipDesk['copyLocal']>>['deliveries'][number];

type ClipView = Pick<DaemonView, 'sync' | 'watcher' | 'maxClipBytes' | 'spoolThresholdBytes' | 'store' | 'transfers'>;

/** The clipboard: `copy` (with `--wait` and its progress stream), `paste`, and `fetch` (an announced clip's bytes, with progress). */
export function clipRoutes(daemon: ClipView, clock: Clock): RouteTable {
  return {
    'POST /v1/copy': async ({ req, res, query }) => {
      const mime = checkedMime(query.get('mime'));
      checkedTimeout(query.get('timeout'));
      const received = await receiveCopyBody(req, mime, daemon.maxClipBytes, daemon.spoolThresholdBytes, daemon.store);
      return applyCopy(daemon, clock, received, query, res);
    },

    // `copy FILE`: the daemon reads the file by its path (docs/CONTROL-API.md).
    'POST /v1/copy/file': async ({ res, query }) => {
      const mime = checkedMime(query.get('mime'));
      checkedTimeout(query.get('timeout'));
      const path = query.get('path');
      if (path === null || path === '') throw fail('CLIPSYNC_ERR_USAGE', 'name the file to copy with ?path=');
      const received = await readCopyFile(path, mime, daemon.maxClipBytes, daemon.spoolThresholdBytes, daemon.store);
      return applyCopy(daemon, clock, received, query, res);
    },

    'GET /v1/paste': async ({ res, query }): Promise<PasteListResponse | undefined> => {
      let clip = await currentOrFail(daemon);
      if (query.get('list') === '1') {
        // Cheap for an announced clip too: its formats came with the announcement.
        const formats = clip.formats.map((f) => ({ mime: f.mime, size: f.size }));
        const manifest = clip.tree?.manifest ?? clip.files?.manifest;
        return { id: clip.id, origin: clip.origin, mime: clip.mime, size: clip.size, formats, local: isLocal(clip), ...(manifest !== undefined ? { files: manifestView(manifest) } : {}) };
      }
      // An announced clip's bytes are still on the peer: this paste is what fetches them.
      if (!isLocal(clip)) clip = await daemon.sync.fetch(clip.id);
      const wanted = query.get('mime');
      // Files: their local paths, one per line, as a terminal would want them (--to writes them out).
      if (clip.tree !== undefined && wanted === null) return sendBytes(res, clip, TEXT_MIME, Buffer.from(clip.tree.roots.join('\n'), 'utf8'));
      const format = wanted === null ? mainFormat(clip.formats) : findFormat(clip.formats, wanted);
      if (format === undefined) {
        throw fail('CLIPSYNC_ERR_NOTHING_TO_PASTE', `the clipboard holds ${clip.formats.map((f) => f.mime).join(', ')}, not ${wanted}`, {
          hint: 'clipsync paste --list shows the formats of the current clip',
        });
      }
      const { start, end } = rangeOf(clip, format);
      if (clip.tree !== undefined) return streamTreeRange(res, clip, format, start, end);
      if (clip.file !== undefined) await whenComplete(clip.file); // a copy still filling in (spool.ts)
      const source = clip.file !== undefined && end > start ? createReadStream(clip.file, { start, end: end - 1 }) : undefined;
      if (source !== undefined) {
        // Open before answering 200, so a spool file that vanished is a clean error.
        await new Promise<void>((resolve, reject) => source.once('open', () => resolve()).once('error', reject)).catch((err: unknown) => {
          throw fail('CLIPSYNC_ERR_SPOOL', `the spooled clip cannot be read: ${(err as Error).message}`, { hint: 'copy it again' });
        });
      }
      answerClip(res, clip, format.mime, format.size);
      if (source === undefined) res.end(clip.data?.subarray(start, end) ?? Buffer.alloc(0));
      else await pipeline(source, res).catch(() => res.destroy());
      return undefined;
    },

    // The bytes of an announced clip, with progress: `clipsync paste` on a terminal draws its
    // bar from these lines, then pastes. `id` (optional) names the clip `paste --list` showed.
    'POST /v1/fetch': async ({ res, query }): Promise<undefined> => {
      const id = query.get('id') ?? (await currentOrFail(daemon)).id;
      await streamProgress(daemon.transfers, res, (t) => t.id === id && t.direction === 'receive', async (): Promise<FetchResponse> => {
        const clip = await daemon.sync.fetch(id);
        return { id: clip.id, mime: clip.mime, size: clip.size };
      });
      return undefined;
    },
  };
}

/** The clip `paste` gives: read fresh from the system clipboard first, so a copy made a moment ago here counts. */
export async function currentOrFail(daemon: Pick<DaemonView, 'sync' | 'watcher'>): Promise<Clip> {
  await daemon.watcher?.settled(true, 'clipboard');
  const clip = daemon.sync.currentClip();
  if (clip === undefined) {
    throw fail('CLIPSYNC_ERR_NOTHING_TO_PASTE', 'there is nothing to paste yet', {
      hint: 'copy something on this machine or on a connected peer first',
    });
  }
  return clip;
}

/** Starts the answer of a paste: `length` bytes of `mime`, with the clip's id and origin in headers. */
function answerClip(res: ServerResponse, clip: Clip, mime: string, length: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length, [CLIP_HEADERS.id]: clip.id, [CLIP_HEADERS.mime]: mime, [CLIP_HEADERS.origin]: clip.origin });
}

function sendBytes(res: ServerResponse, clip: Clip, mime: string, bytes: Buffer): undefined {
  answerClip(res, clip, mime, bytes.length);
  res.end(bytes);
  return undefined;
}

/** One format of a files clip (its manifest, or all its files' bytes), read where the files are. */
async function streamTreeRange(res: ServerResponse, clip: Clip, format: ClipFormat, start: number, end: number): Promise<undefined> {
  const reader = new ClipReader(bodyOf(clip), clip.size);
  answerClip(res, clip, format.mime, format.size);
  try {
    for (let at = start; at < end; ) {
      const length = Math.min(TREE_READ_BYTES, end - at);
      const chunk = await reader.read(at, length);
      // A copy: the reader reuses its buffers, and the response may hold this one a while.
      if (!res.write(Buffer.from(chunk))) await new Promise((resolve) => res.once('drain', resolve));
      at += length;
    }
    res.end();
  } catch {
    res.destroy(); // a file changed or vanished: the client sees a cut response, not wrong bytes
  } finally {
    await reader.close();
  }
  return undefined;
}

const TREE_READ_BYTES = 1024 * 1024;

/** Where one format's bytes are in the clip's body. */
function rangeOf(clip: Clip, format: ClipFormat): { start: number; end: number } {
  const start = formatOffsets(clip.formats)[clip.formats.indexOf(format)]!;
  return { start, end: start + format.size };
}

/** Waits for every peer's answer, or until the timeout, when the silent ones count as failed. */
export async function waitAll(deliveries: PendingDelivery[], timeoutSeconds: number, clock: Clock): Promise<DeliveryResult[]> {
  const all = Promise.all(deliveries.map((d) => d.result));
  if (!(timeoutSeconds > 0)) return all;
  const settled = new Map<PendingDelivery, DeliveryResult>();
  for (const d of deliveries) void d.result.then((r) => settled.set(d, r));
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = clock.setTimeout(() => resolve('timeout'), timeoutSeconds * 1000);
  });
  const outcome = await Promise.race([all, timedOut]);
  if (timer !== undefined) clock.clearTimeout(timer);
  if (outcome !== 'timeout') return outcome;
  return deliveries.map(
    (d) =>
      settled.get(d) ?? { fingerprint: d.fingerprint, name: d.name, status: 'failed', detail: `no acknowledgement within ${timeoutSeconds} s` },
  );
}

/** `timeout=SEC`: seconds (fractions allowed), 0 for no limit. Checked before any byte is taken: a bad one copies nothing. */
export function checkedTimeout(timeout: string | null): void {
  if (timeout === null || timeout === '') return;
  const seconds = Number(timeout);
  if (!/^\d+(\.\d+)?$/.test(timeout.trim()) || !Number.isFinite(seconds)) {
    throw fail('CLIPSYNC_ERR_USAGE', `timeout=${timeout} is not a number of seconds (0 or more; fractions allowed)`);
  }
}

function checkedMime(mime: string | null): string | null {
  if (mime !== null && !isValidMime(mime)) throw fail('CLIPSYNC_ERR_USAGE', `"${mime}" is not a media type such as text/plain or image/png`);
  return mime;
}

/** A copy's bytes are in: make it the current clip, offer it, and answer (at once, or with --wait, with progress). */
async function applyCopy(daemon: ClipView, clock: Clock, received: ReceivedCopy, query: URLSearchParams, res: ServerResponse): Promise<CopyResponse | undefined> {
  const size = received.body.data?.length ?? received.body.size ?? 0;
  let made: Awaited<ReturnType<ClipDesk['copyLocal']>>;
  try {
    made = await daemon.sync.copyLocal(received.body, [{ mime: received.mime, size }], 'cli');
  } catch (err) {
    await received.copy?.cancel();
    throw err;
  }
  const { clip, deliveries } = made;
  const wait = query.get('wait') === '1';
  const timeout = Number(query.get('timeout') ?? 0);
  // A large `copy FILE` is offered before the spool's own copy of it is made (spool.ts).
  // Made beside a transfer, that copy slowed it by a fifth: with --wait and peers to wait for,
  // it is made once they answered, and the answer does not wait for it (the daemon holds the
  // file open, so it may be removed or replaced at once; see docs/CONTROL-API.md). Otherwise
  // the answer comes once the copy is in place.
  const copy = received.copy;
  const afterPeers = wait && deliveries.length > 0;
  const stored = afterPeers ? Promise.resolve() : (copy?.start() ?? Promise.resolve());
  const peersThenCopy = async (): Promise<DeliveryResult[]> => {
    try {
      return await waitAll(deliveries, timeout, clock);
    } finally {
      if (afterPeers) void copy?.start().catch(() => undefined); // a failure is logged by the spool's port
    }
  };
  if (!(wait && query.get('progress') === '1')) {
    const [, peers] = await Promise.all([stored, wait ? peersThenCopy() : Promise.resolve([] as DeliveryResult[])]);
    return { id: clip.id, mime: clip.mime, size: clip.size, peers };
  }
  // Progress: one line per progress event of this clip's sends, then the result.
  const waiting = new Set(deliveries.map((d) => d.fingerprint));
  await streamProgress(
    daemon.transfers,
    res,
    (t) => t.id === clip.id && t.direction === 'send' && waiting.has(t.peer),
    async (): Promise<CopyResponse> => {
      const [, peers] = await Promise.all([stored, peersThenCopy()]);
      return { id: clip.id, mime: clip.mime, size: clip.size, peers };
    },
  );
  return undefined;
}
