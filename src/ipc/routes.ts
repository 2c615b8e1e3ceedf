import { systemClock, type Clock } from '../core/clock.js';
import { clipRoutes } from './clip-routes.js';
import { filesRoutes } from './files-routes.js';
import { daemonRoutes } from './daemon-routes.js';
import type { DaemonView } from './daemon-view.js';
import { pairingRoutes } from './pairing-routes.js';
import { peerRoutes } from './peer-routes.js';
import { historyRoutes } from './history-routes.js';
import { pauseRoutes } from './pause-routes.js';
import type { RouteTable } from './server.js';

export type { DaemonView } from './daemon-view.js';

/**
 * The route table of the control socket: `METHOD /v1/…` → handler, one handler file per
 * area. docs/CONTROL-API.md describes every route; programs outside this repository use them.
 * `clock` times the `copy --wait --timeout` limit.
 */
export function buildRoutes(daemon: DaemonView, clock: Clock = systemClock): RouteTable {
  return {
    ...daemonRoutes(daemon),
    ...peerRoutes(daemon),
    ...clipRoutes(daemon, clock),
    ...filesRoutes(daemon, clock),
    ...pairingRoutes(daemon.pairing),
    ...pauseRoutes(daemon.pause),
    ...historyRoutes(daemon.history, daemon.sync),
    'POST /v1/config/reload': async () => daemon.reloadConfig(),
  };
}
