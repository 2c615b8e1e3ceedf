import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Clock } from '../core/clock.js';
import { Heartbeat } from './heartbeat.js';

/**
 * A heartbeat wired to one open ws socket: it pings over the socket, the pongs answer it,
 * and what else on the socket shows the peer alive counts too. Returned unstarted; the
 * caller also reports its own signs of life (whole messages, our data draining).
 */
export function socketHeartbeat(socket: WebSocket, options: { intervalMs: number; clock: Clock; onDead: () => void }): Heartbeat {
  const heartbeat = new Heartbeat({
    intervalMs: options.intervalMs,
    clock: options.clock,
    ping: () => {
      if (socket.readyState === socket.OPEN) socket.ping();
    },
    onDead: options.onDead,
  });
  socket.on('pong', () => heartbeat.onPong());
  // Signs of life on a link busy with a clip. Our ping and the peer's pong can each wait
  // behind megabytes of clip data, and on a slow link a single DATA message takes longer to
  // arrive than the heartbeat interval (960 KiB at 50 KiB/s is 19 s). But bytes of a
  // message arrive long before it is whole, the peer's own pings travel the other way, and
  // our data draining (SocketWriter) shows the peer reading it. A stalled or vanished peer
  // does none of these.
  socket.on('ping', () => heartbeat.onActivity());
  const raw = (socket as unknown as { _socket?: Duplex })._socket; // ws keeps no public handle on it
  raw?.on('data', () => heartbeat.onActivity());
  return heartbeat;
}
