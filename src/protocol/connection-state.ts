/**
 * Where a connection is in its life; it only moves forward.
 * - connecting: the socket is being opened (an outbound dial);
 * - authenticating: the socket is open and the handshake runs, under its deadline;
 * - open: the peer is authenticated and frames flow;
 * - closing: a close was decided (by either side); `close` has been emitted, the socket is
 *   finishing its closing handshake;
 * - closed: the socket is gone.
 */
export type ConnectionState = 'connecting' | 'authenticating' | 'open' | 'closing' | 'closed';

const ORDER: Record<ConnectionState, number> = { connecting: 0, authenticating: 1, open: 2, closing: 3, closed: 4 };

/**
 * The one place a connection's state changes. Moves are forward only, so events that race
 * (a socket closing while a handshake step finishes) cannot take it back: a connection that
 * began closing never becomes open.
 */
export class ConnectionLifecycle {
  constructor(private current: ConnectionState) {}

  get state(): ConnectionState {
    return this.current;
  }

  /** Moves forward to `next`; a later state is never left for an earlier one. */
  enter(next: ConnectionState): void {
    if (ORDER[next] > ORDER[this.current]) this.current = next;
  }

  /** True while the connection has not yet reached `state`. */
  before(state: ConnectionState): boolean {
    return ORDER[this.current] < ORDER[state];
  }
}
