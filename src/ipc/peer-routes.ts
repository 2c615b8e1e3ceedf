import type { TransferInfo } from '../sync/transfer-board.js';
import type { DaemonView } from './daemon-view.js';
import { followTransfers, startNdjson, writeLine } from './ndjson.js';
import type { PeersResponse, TransferEvent } from './schema.js';
import type { RouteTable } from './server.js';

/** Peers and the transfers in flight with them: `peers`, `transfers`, `transfers --watch`. */
export function peerRoutes(daemon: Pick<DaemonView, 'peers' | 'transfers' | 'rulesOf'>): RouteTable {
  return {
    'GET /v1/peers': async (): Promise<PeersResponse> =>
      daemon.peers.list().map((peer) => ({
        ...peer,
        transfers: peer.fingerprint === null ? [] : daemon.transfers.forPeer(peer.fingerprint),
        rules: daemon.rulesOf(peer.fingerprint, peer.name),
      })),

    'GET /v1/transfers': async (): Promise<TransferInfo[]> => daemon.transfers.list(),

    /** Transfer progress as newline-delimited JSON until the client hangs up (`transfers --watch`). */
    'GET /v1/events': async ({ req, res }): Promise<undefined> => {
      startNdjson(res);
      const stop = followTransfers(daemon.transfers, res, () => true);
      req.once('close', stop);
      for (const info of daemon.transfers.list()) writeLine(res, { event: 'progress', transfer: info } satisfies TransferEvent);
      return undefined;
    },
  };
}
