import type { WebSocket } from 'ws';
import type { Logger } from '../core/log.js';
import type { Connection } from '../protocol/connection.js';
import { CloseCode } from '../wire/close-codes.js';

/** Connections allowed to be in the handshake at once (each is bounded by the handshake deadline). */
export const MAX_PENDING_HANDSHAKES = 64;

/**
 * Admission of inbound sockets to the handshake. Inbound connections still in the handshake
 * are the ones a stranger can open at will, so their number is capped.
 */
export class HandshakeGate {
  private inHandshake = 0;

  constructor(private readonly log: Logger) {}

  /**
   * Lets `socket` into the handshake as the connection `start` makes of it, and counts it
   * until the handshake settles; past the cap, turns it away and returns undefined.
   */
  enter(socket: WebSocket, remote: string, start: () => Connection): Connection | undefined {
    if (this.inHandshake >= MAX_PENDING_HANDSHAKES) {
      // Unauthenticated connections cost memory; past the cap, turn new ones away at once
      // (1013: try again later) so a flood cannot starve the daemon or its real peers.
      socket.close(CloseCode.tryAgainLater, 'too many connections in handshake; try again later');
      this.log.warn({ remote, pending: this.inHandshake }, 'refused a connection: too many handshakes in progress');
      return undefined;
    }
    const connection = start();
    this.inHandshake++;
    const settled = (): void => {
      this.inHandshake--;
    };
    connection.established().then(settled, settled);
    return connection;
  }
}
