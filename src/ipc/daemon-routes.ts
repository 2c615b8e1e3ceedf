import { describeClip, isLocal } from '../sync/clip.js';
import type { DaemonView } from './daemon-view.js';
import type { StatusResponse } from './schema.js';
import type { RouteTable } from './server.js';

/** The daemon itself: `status`, `trust reload` and `stop`. */
export function daemonRoutes(daemon: Pick<DaemonView, 'status' | 'peers' | 'sync' | 'reloadTrust' | 'stop'>): RouteTable {
  return {
    'GET /v1/status': async (): Promise<StatusResponse> => {
      const peers = daemon.peers.list();
      const clip = daemon.sync.currentClip();
      return {
        ...daemon.status(),
        peers: { connected: daemon.peers.connectedCount(), known: peers.length },
        clip: clip === undefined ? null : { ...describeClip(clip), local: isLocal(clip) },
      };
    },

    'POST /v1/trust/reload': async () => ({ disconnected: await daemon.reloadTrust() }),

    'POST /v1/stop': async ({ res }) => {
      res.once('finish', () => daemon.stop());
      return { stopping: true };
    },
  };
}
