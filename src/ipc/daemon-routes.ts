import { describeClip, isLocal } from '../sync/clip.js';
import type { DaemonView } from './daemon-view.js';
import { startNdjson, writeLine } from './ndjson.js';
import type { StatusResponse, WatchEvent } from './schema.js';
import type { RouteTable } from './server.js';

type StatusView = Pick<DaemonView, 'status' | 'peers' | 'sync' | 'transfers' | 'pairing'>;

/** Status lines of `GET /v1/watch` come at most this often: a burst of changes is one line. */
export const WATCH_COALESCE_MS = 200;
/** A watcher that lets this much pile up unread is too slow to follow: it is dropped, not buffered for. */
const WATCH_MAX_BUFFERED = 1024 * 1024;

/** The body of `GET /v1/status`: everything `clipsync status` shows. */
export function fullStatus(daemon: StatusView): StatusResponse {
  const clip = daemon.sync.currentClip();
  return {
    ...daemon.status(),
    peers: { connected: daemon.peers.connectedCount(), known: daemon.peers.list().length },
    clip: clip === undefined ? null : { ...describeClip(clip), local: isLocal(clip) },
    transfers: daemon.transfers.list().length,
    pairingPending: daemon.pairing.pending().filter((p) => p.state === 'pending' && !p.acceptedHere).length,
  };
}

/** The daemon itself: `status` (once or followed), `trust reload` and `stop`. */
export function daemonRoutes(daemon: StatusView & Pick<DaemonView, 'events' | 'reloadTrust' | 'stop'>): RouteTable {
  return {
    'GET /v1/status': async (): Promise<StatusResponse> => fullStatus(daemon),

    // Followed live (status bars, the tray): a status line whenever it changes, pairing
    // requests and notices as they happen. Event-driven; nothing runs while nothing changes.
    'GET /v1/watch': async ({ req, res }): Promise<undefined> => {
      startNdjson(res);
      let last = '';
      let lastSentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const write = (line: WatchEvent): void => {
        if (res.writableLength > WATCH_MAX_BUFFERED) {
          res.destroy(); // not reading: let it reconnect rather than hold its backlog
          return;
        }
        writeLine(res, line);
      };
      const sendStatus = (): void => {
        timer = undefined;
        const status = fullStatus(daemon);
        const text = JSON.stringify(status);
        if (text === last) return;
        last = text;
        lastSentAt = Date.now();
        write({ event: 'status', status });
      };
      const changed = (): void => {
        if (timer !== undefined) return;
        timer = setTimeout(sendStatus, Math.max(0, lastSentAt + WATCH_COALESCE_MS - Date.now()));
      };
      const unsubscribe = daemon.events.subscribe({
        changed,
        pairing: (request) => write({ event: 'pairing', request }),
        notice: (notice) => write({ event: 'notice', ...notice }),
      });
      // A transfer starting or ending changes `transfers`; progress in between changes nothing shown.
      daemon.transfers.on('progress', changed);
      daemon.transfers.on('end', changed);
      req.once('close', () => {
        unsubscribe();
        daemon.transfers.off('progress', changed);
        daemon.transfers.off('end', changed);
        if (timer !== undefined) clearTimeout(timer);
      });
      sendStatus();
      return undefined;
    },

    'POST /v1/trust/reload': async () => ({ disconnected: await daemon.reloadTrust() }),

    'POST /v1/stop': async ({ res }) => {
      res.once('finish', () => daemon.stop());
      return { stopping: true };
    },
  };
}
