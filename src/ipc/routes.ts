import { fail } from '../errors.js';
import type { PeerManager } from '../peers/peer-manager.js';
import { guessMime, isValidMime, metaOf } from '../sync/clip.js';
import type { PendingDelivery, SyncEngine } from '../sync/sync-engine.js';
import type { ClipboardWatcher } from '../clipboard/watcher.js';
import type { DeliveryResult } from '../sync/delivery.js';
import { CLIP_HEADERS, type CopyResponse, type PeersResponse, type StatusResponse } from './schema.js';
import { readBody, type RouteTable } from './server.js';

/** What the control API needs from the running daemon. */
export interface DaemonView {
  status(): Omit<StatusResponse, 'peers' | 'clip'>;
  peers: PeerManager;
  sync: SyncEngine;
  watcher: ClipboardWatcher | undefined;
  maxClipBytes: number;
  reloadTrust(): Promise<number>;
  stop(): void;
}

/** The route table of the control socket: `METHOD /v1/…` → handler. */
export function buildRoutes(daemon: DaemonView): RouteTable {
  return {
    'GET /v1/status': async (): Promise<StatusResponse> => {
      const peers = daemon.peers.list();
      const clip = daemon.sync.currentClip();
      return {
        ...daemon.status(),
        peers: { connected: daemon.peers.connectedCount(), known: peers.length },
        clip: clip === undefined ? null : metaOf(clip),
      };
    },

    'GET /v1/peers': async (): Promise<PeersResponse> => daemon.peers.list(),

    'POST /v1/copy': async ({ req, query }): Promise<CopyResponse> => {
      const mime = query.get('mime');
      if (mime !== null && !isValidMime(mime)) {
        throw fail('CLIPSYNC_ERR_USAGE', `"${mime}" is not a media type such as text/plain or image/png`);
      }
      const data = await readBody(req, daemon.maxClipBytes);
      const { clip, deliveries } = await daemon.sync.copyLocal(data, mime ?? guessMime(data), 'cli');
      const peers: DeliveryResult[] = query.get('wait') === '1' ? await waitAll(deliveries, Number(query.get('timeout') ?? 0)) : [];
      return { id: clip.id, mime: clip.mime, size: clip.size, peers };
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
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': clip.size,
        [CLIP_HEADERS.id]: clip.id,
        [CLIP_HEADERS.mime]: clip.mime,
        [CLIP_HEADERS.origin]: clip.origin,
      });
      res.end(clip.data);
      return undefined;
    },

    'POST /v1/trust/reload': async () => ({ disconnected: await daemon.reloadTrust() }),

    'POST /v1/stop': async ({ res }) => {
      res.once('finish', () => daemon.stop());
      return { stopping: true };
    },
  };
}

/** `text/plain` matches `text/plain;charset=utf-8`: parameters do not change the type. */
function sameType(wanted: string, actual: string): boolean {
  const base = (t: string): string => t.split(';', 1)[0]!.trim().toLowerCase();
  return wanted.includes(';') ? wanted.toLowerCase() === actual.toLowerCase() : base(wanted) === base(actual);
}

/** Waits for every peer's answer, or until the timeout, when the silent ones count as failed. */
async function waitAll(deliveries: PendingDelivery[], timeoutSeconds: number): Promise<DeliveryResult[]> {
  const all = Promise.all(deliveries.map((d) => d.result));
  if (!(timeoutSeconds > 0)) return all;
  const settled = new Map<PendingDelivery, DeliveryResult>();
  for (const d of deliveries) void d.result.then((r) => settled.set(d, r));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000);
  });
  const outcome = await Promise.race([all, timedOut]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return outcome;
  return deliveries.map(
    (d) =>
      settled.get(d) ?? { fingerprint: d.fingerprint, name: d.name, status: 'failed', detail: `no acknowledgement within ${timeoutSeconds} s` },
  );
}
