// Handshake time on loopback: connect + WebSocket upgrade + clipsync handshake, per key type,
// beside the plain WebSocket connect that every handshake pays for (the baseline).
import { WebSocket } from 'ws';
import { loadIdentityFile } from '../../dist/identity/identity.js';
import { generateIdentityFile } from '../../dist/identity/identity.js';
import { Connection } from '../../dist/protocol/connection.js';
import { listen } from '../../dist/transport/listener.js';
import { openSocket, urlFor } from '../../dist/transport/dialer.js';
import { join } from 'node:path';
import { ms, silentLog, sshKeygen, summarize, tempDir } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_HANDSHAKES ?? 300);
const WARMUP = 20;

async function identities(dir, kind) {
  if (kind === 'ed25519') {
    await generateIdentityFile(join(dir, 'a_ed'), 'a');
    await generateIdentityFile(join(dir, 'b_ed'), 'b');
    return [await loadIdentityFile(join(dir, 'a_ed')), await loadIdentityFile(join(dir, 'b_ed'))];
  }
  const [type, bits] = kind === 'rsa-3072' ? ['rsa', 3072] : ['ecdsa', 256];
  return [await loadIdentityFile(sshKeygen(dir, `a_${kind}`, type, bits)), await loadIdentityFile(sshKeygen(dir, `b_${kind}`, type, bits))];
}

const trustAll = async () => ({ name: 'bench' });

async function measureHandshakes(kind, dir) {
  const [client, server] = await identities(dir, kind);
  const listener = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, (socket, remote) => {
    new Connection(socket, {
      remote,
      handshake: { role: 'responder', identity: server, name: 'server', checkTrust: trustAll },
      handshakeTimeoutMs: 10_000,
      log: silentLog,
    });
  });
  const total = [];
  const handshakeOnly = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const start = process.hrtime.bigint();
    const socket = openSocket(listener.address, 10_000);
    let opened = start;
    socket.once('open', () => (opened = process.hrtime.bigint()));
    const connection = new Connection(socket, {
      remote: 'bench',
      handshake: { role: 'initiator', identity: client, name: 'client', checkTrust: trustAll },
      handshakeTimeoutMs: 10_000,
      log: silentLog,
    });
    await connection.established();
    const done = process.hrtime.bigint();
    if (i >= WARMUP) {
      total.push(ms(done - start));
      handshakeOnly.push(ms(done - opened));
    }
    const closed = new Promise((resolve) => connection.once('close', resolve));
    connection.close(1000, 'bench');
    await closed;
  }
  await listener.close();
  return { kind, total: summarize(total), handshake: summarize(handshakeOnly) };
}

async function measurePlainConnect() {
  const listener = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => undefined);
  const samples = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const start = process.hrtime.bigint();
    const socket = new WebSocket(urlFor(listener.address), { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    if (i >= WARMUP) samples.push(ms(process.hrtime.bigint() - start));
    socket.terminate();
  }
  await listener.close();
  return summarize(samples);
}

export async function benchHandshake() {
  const { dir, remove } = tempDir();
  try {
    const plain = await measurePlainConnect();
    const results = [];
    for (const kind of ['ed25519', 'ecdsa-256', 'rsa-3072']) results.push(await measureHandshakes(kind, dir));
    return { rounds: ROUNDS, plain, results };
  } finally {
    remove();
  }
}
