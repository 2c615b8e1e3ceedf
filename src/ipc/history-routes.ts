import { fail } from '../core/errors.js';
import type { HistoryEntry, HistoryItem } from '../sync/clip-history.js';
import { bodyOf } from '../sync/clip-body.js';
import { isLocal, type Clip } from '../sync/clip.js';
import type { ClipDesk } from './daemon-view.js';
import type { RouteTable } from './server.js';

/** The clip history as the control API reads and drives it (sync/clip-history.ts). */
export interface HistoryDesk {
  list(): HistoryItem[];
  entry(n: number): HistoryEntry | undefined;
  clear(): number;
}

/** `clipsync history`, `history get N`, `history clear`. */
export function historyRoutes(history: HistoryDesk, sync: ClipDesk & { fetchAnnounced(clip: Clip): Promise<Clip> }): RouteTable {
  return {
    'GET /v1/history': async (): Promise<HistoryItem[]> => history.list(),

    // Entry N becomes the current clip again: on this clipboard and offered to peers, as a copy
    // made here now. An announced one is fetched first, as `paste` would.
    'POST /v1/history/get': async ({ query }): Promise<HistoryItem> => {
      const raw = query.get('n');
      const n = raw === null || !/^\d+$/.test(raw) ? NaN : Number(raw);
      if (!Number.isInteger(n) || n < 1) throw fail('CLIPSYNC_ERR_USAGE', `history entry "${raw ?? ''}" is not a number from 1`, { hint: 'clipsync history lists them; 1 is the newest' });
      const entry = history.entry(n);
      if (entry === undefined) {
        const count = history.list().length;
        throw fail('CLIPSYNC_ERR_NO_SUCH_CLIP', count === 0 ? 'the history is empty' : `there is no clip ${n} in the history (it holds ${count})`, {
          hint: 'clipsync history lists them; 1 is the newest',
        });
      }
      const clip = isLocal(entry.clip) ? entry.clip : await sync.fetchAnnounced(entry.clip);
      const body = clip.data !== undefined ? { data: clip.data } : { ...bodyOf(clip), id: clip.id, size: clip.size, ...(clip.leaves !== undefined ? { leaves: clip.leaves } : {}) };
      await sync.copyLocal(body, clip.formats, 'cli');
      // Remembered again as the newest, unless paused (then it stays where it was).
      const items = history.list();
      return items.find((item) => item.id === clip.id) ?? { ...items[n - 1]!, local: true };
    },

    'POST /v1/history/clear': async () => ({ cleared: history.clear() }),
  };
}
