/**
 * Where one transfer is in its life. Each side moves forward only; a transfer that has left
 * its live states never sends, writes or grants again, whatever arrives later.
 *
 * Sending:   offered ─WANT→ streaming ─END sent→ sent ─ACK→ settled
 *               └──────────────┴──────────────────┴──→ cancelled (superseded, CANCEL, ACK
 *                                                       before the end, disconnect) | failed
 * Receiving: receiving ─END→ verifying ─→ settled (applied, or refused after verifying)
 *               └───────────────┴──→ suspended (disconnect: kept for a resume)
 *                                  | discarded (cancelled, superseded, refused)
 */
export type OutgoingState = 'offered' | 'streaming' | 'sent' | 'settled' | 'cancelled' | 'failed';
export type IncomingState = 'receiving' | 'verifying' | 'settled' | 'suspended' | 'discarded';

/** States in which an outgoing transfer may still put bytes on the wire. */
export function isOutgoingLive(state: OutgoingState): boolean {
  return state === 'offered' || state === 'streaming' || state === 'sent';
}
