import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../core/clock.js';
import { fail, isClipsyncError } from '../core/errors.js';
import { isValidMime } from '../sync/clip.js';
import type { DeliveryResult } from '../sync/delivery.js';
import { receiveCopyBody } from './copy-body.js';
import type { ClipDesk, DaemonView } from './daemon-view.js';
import { followTransfers, startNdjson, writeLine } from './ndjson.js';
import { CLIP_HEADERS, type CopyEvent, type CopyResponse } from './schema.js';
import type { RouteTable } from './server.js';

/** One peer's pending answer to a copy, as the engine hands it out. */
type PendingDelivery = Awaited<ReturnType<ClipDesk['copyLocal']>>['deliveries'][number];

type ClipView = Pick<DaemonView, 'sync' | 'watcher' | 'maxClipBytes' | 'spoolThresholdBytes' | 'store' | 'transfers'>;

/** The clipboard: `copy` (with `--wait` and its progress stream) and `paste`. */
export function clipRoutes(daemon: ClipView, clock: Clock): RouteTable {
  return {
    'POST /v1/copy': async ({ req, res, query }): Promise<CopyResponse | undefined> => {
      const mime = query.get('mime');
      if (mime !== null && !isValidMime(mime)) {
        throw fail('CLIPSYNC_ERR_USAGE', `"${mime}" is not a media type such as text/plain or image/png`);
      }
      const received = await receiveCopyBody(req, daemon.maxClipBytes, daemon.spoolThresholdBytes, daemon.store);
      const { clip, deliveries } = await daemon.sync.copyLocal(received.body, mime ?? received.guessedMime, 'cli');
      const wait = query.get('wait') === '1';
      const timeout = Number(query.get('timeout') ?? 0);
      if (!(wait && query.get('progress') === '1')) {
        const peers: DeliveryResult[] = wait ? await waitAll(deliveries, timeout, clock) : [];
        return { id: clip.id, mime: clip.mime, size: clip.size, peers };
      }
      // Progress: one line per progress event of this clip's sends, then the result.
      startNdjson(res);
      const waiting = new Set(deliveries.map((d) => d.fingerprint));
      const stop = followTransfers(daemon.transfers, res, (t) => t.id === clip.id && t.direction === 'send' && waiting.has(t.peer));
      try {
        const peers = await waitAll(deliveries, timeout, clock);
        writeLine(res, { event: 'result', result: { id: clip.id, mime: clip.mime, size: clip.size, peers } } satisfies CopyEvent);
      } catch (err) {
        const error = isClipsyncError(err) ? err.toJSON() : { code: 'CLIPSYNC_ERR_INTERNAL', message: 'internal error in the daemon; see its log' };
        writeLine(res, { event: 'error', error } satisfies CopyEvent);
      } finally {
        stop();
        res.end();
      }
      return undefined;
    },

    'GET /v1/paste': async ({ res, query }): Promise<undefined> => {
      await daemon.watcher?.pollNow(); // a copy made a moment ago on this machine counts
      const clip = daemon.sync.currentClip();
      if (clip === undefined) {
        throw fail('CLIPSYNC_ERR_NOTHING_TO_PASTE', 'there is nothing to paste yet', {
          hint: 'copy something on this machine or on a connected peer first',
        });
      }
      const wanted = query.get('mime');
      if (wanted !== null && !sameType(wanted, clip.mime)) {
        throw fail('CLIPSYNC_ERR_NOTHING_TO_PASTE', `the clipboard holds ${clip.mime}, not ${wanted}`);
      }
      const source = clip.file !== undefined ? createReadStream(clip.file) : undefined;
      if (source !== undefined) {
        // Open before answering 200, so a spool file that vanished is a clean error.
        await new Promise<void>((resolve, reject) => source.once('open', () => resolve()).once('error', reject)).catch((err: unknown) => {
          throw fail('CLIPSYNC_ERR_SPOOL', `the spooled clip cannot be read: ${(err as Error).message}`, { hint: 'copy it again' });
        });
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': clip.size,
        [CLIP_HEADERS.id]: clip.id,
        [CLIP_HEADERS.mime]: clip.mime,
        [CLIP_HEADERS.origin]: clip.origin,
      });
      if (source === undefined) res.end(clip.data);
      else await pipeline(source, res).catch(() => res.destroy());
      return undefined;
    },
  };
}

/** `text/plain` matches `text/plain;charset=utf-8`: parameters do not change the type. */
function sameType(wanted: string, actual: string): boolean {
  const base = (t: string): string => t.split(';', 1)[0]!.trim().toLowerCase();
  return wanted.includes(';') ? wanted.toLowerCase() === actual.toLowerCase() : base(wanted) === base(actual);
}

/** Waits for every peer's answer, or until the timeout, when the silent ones count as failed. */
async function waitAll(deliveries: PendingDelivery[], timeoutSeconds: number, clock: Clock): Promise<DeliveryResult[]> {
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
