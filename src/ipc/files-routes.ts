import type { IncomingMessage } from 'node:http';
import { isAbsolute } from 'node:path';
import type { Clock } from '../core/clock.js';
import { fail } from '../core/errors.js';
import { copyTreeTo } from '../files/copy-out.js';
import { isFilesMeta, type FileManifest } from '../files/manifest.js';
import { makeFilesClip } from '../sync/files-clip.js';
import type { Clip } from '../sync/clip.js';
import { checkedTimeout, currentOrFail, waitAll } from './clip-routes.js';
import type { DaemonView } from './daemon-view.js';
import { streamProgress } from './ndjson.js';
import type { CopyFilesResponse, PasteFilesResponse } from './schema.js';
import { manifestView } from './files-view.js';
import type { RouteTable } from './server.js';

type FilesView = Pick<DaemonView, 'sync' | 'watcher' | 'maxClipBytes' | 'maxFileEntries' | 'transfers'>;

/** The largest request body of `copy --files`: the paths, as JSON. */
const MAX_PATHS_BODY_BYTES = 16 * 1024 * 1024;

/** Files and folders through the clipboard: `copy --files`, `paste --list` of a files clip, `paste --to DIR`. docs/CONTROL-API.md. */
export function filesRoutes(daemon: FilesView, clock: Clock): RouteTable {
  return {
    // Body: {"paths": ["/abs/a", …], "cut": false}. The daemon reads the files where they are.
    'POST /v1/copy/files': async ({ req, res, query }) => {
      checkedTimeout(query.get('timeout'));
      const { paths, cut } = await readPaths(req);
      const made = await makeFilesClip(paths, { maxEntries: daemon.maxFileEntries, maxBytes: daemon.maxClipBytes }, cut);
      const { clip, deliveries } = await daemon.sync.copyLocal(made.body, made.formats, 'cli');
      const wait = query.get('wait') === '1';
      const timeout = Number(query.get('timeout') ?? 0);
      const answer = async (): Promise<CopyFilesResponse> => ({
        id: clip.id,
        mime: clip.mime,
        size: clip.size,
        peers: wait ? await waitAll(deliveries, timeout, clock) : [],
        files: { count: made.count, totalBytes: made.totalBytes },
        skipped: made.skipped,
      });
      if (!(wait && query.get('progress') === '1')) return answer();
      const waiting = new Set(deliveries.map((d) => d.fingerprint));
      await streamProgress(daemon.transfers, res, (t) => t.id === clip.id && t.direction === 'send' && waiting.has(t.peer), answer);
      return undefined;
    },

    'GET /v1/paste/files': async () => {
      const clip = await filesClipOrFail(daemon);
      return { id: clip.id, origin: clip.origin, local: clip.tree !== undefined, files: manifestView(manifestOf(clip)) };
    },

    // `paste --to DIR` (absolute): the clip's bytes are fetched first if they are still on the peer.
    'POST /v1/paste/files': async ({ res, query }) => {
      const to = query.get('to');
      if (to === null || !isAbsolute(to)) throw fail('CLIPSYNC_ERR_USAGE', 'name the folder to paste into with ?to= (an absolute path)');
      const clip = await filesClipOrFail(daemon);
      const work = async (): Promise<PasteFilesResponse> => {
        const whole = clip.tree !== undefined ? clip : await daemon.sync.fetch(clip.id);
        if (whole.tree === undefined) throw notFiles(whole);
        const { written } = await copyTreeTo(whole.tree, to);
        return { id: whole.id, to, count: whole.tree.manifest.count, totalBytes: whole.tree.manifest.totalBytes, written };
      };
      if (query.get('progress') !== '1') return work();
      await streamProgress(daemon.transfers, res, (t) => t.id === clip.id && t.direction === 'receive', work);
      return undefined;
    },
  };
}

/** The current clip, which must be a files clip. */
async function filesClipOrFail(daemon: FilesView): Promise<Clip> {
  const clip = await currentOrFail(daemon);
  if (!isFilesMeta(clip)) throw notFiles(clip);
  if (clip.tree === undefined && clip.files === undefined) {
    // Held without its manifest: cannot be (a files clip is announced with it), but say so plainly.
    throw fail('CLIPSYNC_ERR_NOT_FETCHED', 'the files clip has not arrived yet', { hint: 'paste again in a moment' });
  }
  return clip;
}

function manifestOf(clip: Clip): FileManifest {
  return (clip.tree?.manifest ?? clip.files?.manifest)!;
}

function notFiles(clip: Clip) {
  return fail('CLIPSYNC_ERR_NOT_FILES', `the current clip is ${clip.mime}, not files`, { hint: 'paste it without --to (clipsync paste --list shows its formats)' });
}

async function readPaths(req: IncomingMessage): Promise<{ paths: string[]; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PATHS_BODY_BYTES) throw fail('CLIPSYNC_ERR_USAGE', 'too many paths in one copy --files');
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw fail('CLIPSYNC_ERR_USAGE', 'the request body is not JSON: {"paths": ["/abs/path", …]}');
  }
  const { paths, cut } = (body ?? {}) as { paths?: unknown; cut?: unknown };
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && isAbsolute(p))) {
    throw fail('CLIPSYNC_ERR_USAGE', 'name the files to copy as {"paths": ["/abs/path", …]} (absolute paths)');
  }
  return { paths: paths as string[], cut: cut === true };
}

