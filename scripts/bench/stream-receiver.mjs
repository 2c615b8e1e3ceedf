// The receiving end of the stream benchmark, in its own process so that sender and receiver
// each get a core, as two daemons do. Prints {"port":N} when listening.
import { WebSocketServer } from 'ws';
import { loadIdentityFile } from '../../dist/identity/identity.js';
import { Connection } from '../../dist/protocol/connection.js';
import { FrameType } from '../../dist/wire/frame.js';
import { listen } from '../../dist/transport/listener.js';
import { WS_MAX_PAYLOAD } from '../../dist/transport/ws-options.js';
import { silentLog } from './lib.mjs';

const [mode, keyPath] = process.argv.slice(2);

if (mode === 'plain') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: WS_MAX_PAYLOAD });
  wss.on('listening', () => console.log(JSON.stringify({ port: wss.address().port })));
  wss.on('connection', (socket) => {
    let expected = 0;
    let received = 0;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        expected = Number(String(data));
        received = 0;
        return;
      }
      received += data.length;
      if (received >= expected) socket.send('done');
    });
  });
} else {
  const identity = await loadIdentityFile(keyPath);
  const listener = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, (socket, remote) => {
    const connection = new Connection(socket, {
      remote,
      handshake: { role: 'responder', identity, name: 'receiver', checkTrust: async () => ({ name: 'bench' }) },
      handshakeTimeoutMs: 10_000,
      log: silentLog,
    });
    let expected = 0;
    let received = 0;
    connection.on('frame', (frame) => {
      if (frame.type === FrameType.offer) {
        expected = frame.header.size;
        received = 0;
      } else if (frame.type === FrameType.data) {
        received += frame.body.length;
        if (received >= expected) void connection.send(FrameType.ack, { id: frame.header.id, status: 'applied' });
      }
    });
  });
  console.log(JSON.stringify({ port: listener.address.port }));
}
