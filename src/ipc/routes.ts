import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ServerResponse } from 'node:http';
import { fail, isClipsyncError } from '../core/errors.js';
import type { PeerManager } from '../peers/peer-manager.js';
import type { PairingManager } from '../pairing/pairing-manager.js';
import { isValidMime, metaOf } from '../sync/clip.js';
import type { PendingDelivery, SyncEngine } from '../sync/sync-engine.js';
import type { ClipboardWatcher } from '../clipboard/watcher.js';
import type { DeliveryResult } from '../sync/delivery.js';
import type { TransferBoard, TransferInfo, TransferOutcome } from '../sync/transfer-board.js';
import { receiveCopyBody, type LocalStore } from './copy-body.js';
import type { PairCandidate, PairingInfo } from '../pairing/pairing-types.js';
import { CLIP_HEADERS, type CopyEvent, type CopyResponse, type PeersResponse, type StatusResponse, type TransferEvent } from './schema.js';
import type { RouteTable } from './server.js';

/** What the control API needs from the running daemon. */
export interface DaemonView {
  status(): Omit<StatusResponse, 'peers' | 'clip'>;
  peers: PeerManager;
  pairing: PairingManager;
  sync: SyncEngine;
  watcher: ClipboardWatcher | undefined;
  maxClipBytes: number;
  spoolThresholdBytes: number;
  store: LocalStore | undefined;
  transfers: TransferBoard;
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

    'GET /v1/peers': async (): Promise<PeersResponse> =>
      daemon.peers.list().map((peer) => ({ ...peer, transfers: peer.fingerprint === null ? [] : daemon.transfers.forPeer(peer.fingerprint) })),

    'GET /v1/transfers': async (): Promise<TransferInfo[]> => daemon.transfers.list(),

    /** Transfer progress as newline-delimited JSON until the client hangs up (`transfers --watch`). */
    'GET /v1/events': async ({ req, res }): Promise<undefined> => {
      startNdjson(res);
      const stop = followTransfers(daemon.transfers, res, () => true);
      req.once('close', stop);
      for (const info of daemon.transfers.list()) writeLine(res, { event: 'progress', transfer: info } satisfies TransferEvent);
      return undefined;
    },

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
        const peers: DeliveryResult[] = wait ? await waitAll(deliveries, timeout) : [];
        return { id: clip.id, mime: clip.mime, size: clip.size, peers };
      }
      // Progress: one line per progress event of this clip's sends, then the result.
      startNdjson(res);
      const waiting = new Set(deliveries.map((d) => d.fingerprint));
      const stop = followTransfers(daemon.transfers, res, (t) => t.id === clip.id && t.direction === 'send' && waiting.has(t.peer));
      try {
        const peers = await waitAll(deliveries, timeout);
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

    'POST /v1/trust/reload': async () => ({ disconnected: await daemon.reloadTrust() }),

    'GET /v1/pair/candidates': async (): Promise<PairCandidate[]> => daemon.pairing.candidates(),

    'GET /v1/pair/pending': async (): Promise<PairingInfo[]> => daemon.pairing.pending(),

    /** Dials in pairing mode; answers once the verification code is known. */
    'POST /v1/pair': async ({ query }): Promise<PairingInfo> => daemon.pairing.start(peerParam(query)),

    'POST /v1/pair/accept': async ({ query }): Promise<PairingInfo> => daemon.pairing.accept(peerParam(query), query.get('wait') === '1'),

    'POST /v1/pair/reject': async ({ query }): Promise<PairingInfo> => daemon.pairing.reject(peerParam(query)),

    /** Long poll: answers when the request has ended (paired, rejected, expired…). */
    'GET /v1/pair/wait': async ({ query }): Promise<PairingInfo> => daemon.pairing.wait(peerParam(query)),

    'POST /v1/stop': async ({ res }) => {
      res.once('finish', () => daemon.stop());
      return { stopping: true };
    },
  };
}

/** The `peer` query parameter of the pairing routes: a name, a fingerprint or (to start) an address. */
function peerParam(query: URLSearchParams): string {
  const peer = query.get('peer');
  if (peer === null || peer.trim() === '') throw fail('CLIPSYNC_ERR_USAGE', 'the "peer" query parameter is required (a name, a fingerprint or an address)');
  return peer;
}

function startNdjson(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
}

function writeLine(res: ServerResponse, value: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(value)}\n`);
}

/** Writes the board's progress and end events that `wanted` selects; returns the unsubscribe. */
function followTransfers(board: TransferBoard, res: ServerResponse, wanted: (t: TransferInfo) => boolean): () => void {
  const onProgress = (transfer: TransferInfo): void => {
    if (wanted(transfer)) writeLine(res, { event: 'progress', transfer } satisfies TransferEvent);
  };
  const onEnd = (transfer: TransferInfo, outcome: TransferOutcome, detail: string | undefined): void => {
    if (wanted(transfer)) writeLine(res, { event: 'end', transfer, outcome, ...(detail === undefined ? {} : { detail }) } satisfies TransferEvent);
  };
  board.on('progress', onProgress);
  board.on('end', onEnd);
  return () => {
    board.off('progress', onProgress);
    board.off('end', onEnd);
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
