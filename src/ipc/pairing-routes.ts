import { fail } from '../core/errors.js';
import type { PairCandidate, PairingInfo } from '../pairing/pairing-types.js';
import type { PairingDesk } from './daemon-view.js';
import type { RouteTable } from './server.js';

/** Pairing requests, both ways: `pair`, `pair --pending`, `--accept`, `--reject`. */
export function pairingRoutes(pairing: PairingDesk): RouteTable {
  return {
    'GET /v1/pair/candidates': async (): Promise<PairCandidate[]> => pairing.candidates(),

    'GET /v1/pair/pending': async (): Promise<PairingInfo[]> => pairing.pending(),

    /** Dials in pairing mode; answers once the verification code is known. */
    'POST /v1/pair': async ({ query }): Promise<PairingInfo> => pairing.start(peerParam(query)),

    'POST /v1/pair/accept': async ({ query }): Promise<PairingInfo> => pairing.accept(peerParam(query), query.get('wait') === '1'),

    'POST /v1/pair/reject': async ({ query }): Promise<PairingInfo> => pairing.reject(peerParam(query)),

    /** Long poll: answers when the request has ended (paired, rejected, expired…). */
    'GET /v1/pair/wait': async ({ query }): Promise<PairingInfo> => pairing.wait(peerParam(query)),
  };
}

/** The `peer` query parameter of the pairing routes: a name, a fingerprint or (to start) an address. */
function peerParam(query: URLSearchParams): string {
  const peer = query.get('peer');
  if (peer === null || peer.trim() === '') throw fail('CLIPSYNC_ERR_USAGE', 'the "peer" query parameter is required (a name, a fingerprint or an address)');
  return peer;
}
