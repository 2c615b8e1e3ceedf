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

/** One key type's listener and the client identity that dials it. */
async function handshakeSetup(kind, dir) {
  const [client, server] = await identities(dir, kind);
  const listener = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, (socket, remote) => {
    new Connection(socket, {
      remote,
      handshake: { role: 'responder', identity: server, name: 'server', checkTrust: trustAll },
      handshakeTimeoutMs: 10_000,
      log: silentLog,
    });
  });
  return { kind, client, listener, total: [], handshakeOnly: [] };
}

async function handshakeOnce(setup, record) {
  const start = process.hrtime.bigint();
  const socket = openSocket(setup.listener.address, 10_000);
  let opened = start;
  socket.once('open', () => (opened = process.hrtime.bigint()));
  const connection = new Connection(socket, {
    remote: 'bench',
    handshake: { role: 'initiator', identity: setup.client, name: 'client', checkTrust: trustAll },
    handshakeTimeoutMs: 10_000,
    log: silentLog,
  });
  await connection.established();
  const done = process.hrtime.bigint();
  if (record) {
    setup.total.push(ms(done - start));
    setup.handshakeOnly.push(ms(done - opened));
  }
  const closed = new Promise((resolve) => connection.once('close', resolve));
  connection.close(1000, 'bench');
  await closed;
}

async function plainConnectOnce(listener, samples, record) {
  const start = process.hrtime.bigint();
  const socket = new WebSocket(urlFor(listener.address), { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  if (record) samples.push(ms(process.hrtime.bigint() - start));
  socket.terminate();
}

/**
 * The rows run interleaved, in blocks of ROUNDS / BLOCKS connections each, so that load which
 * comes and goes on a small machine falls on every row alike rather than on whichever ran first.
 */
const BLOCKS = 5;

export async function benchHandshake() {
  const { dir, remove } = tempDir();
  const plainListener = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => undefined);
  const setups = [];
  try {
    for (const kind of ['ed25519', 'ecdsa-256', 'rsa-3072']) setups.push(await handshakeSetup(kind, dir));
    const plainSamples = [];
    for (let i = 0; i < WARMUP; i++) await plainConnectOnce(plainListener, plainSamples, false);
    for (const setup of setups) for (let i = 0; i < WARMUP; i++) await handshakeOnce(setup, false);
    const perBlock = Math.ceil(ROUNDS / BLOCKS);
    for (let block = 0; block < BLOCKS; block++) {
      for (let i = 0; i < perBlock; i++) await plainConnectOnce(plainListener, plainSamples, true);
      for (const setup of setups) for (let i = 0; i < perBlock; i++) await handshakeOnce(setup, true);
    }
    return {
      rounds: perBlock * BLOCKS,
      plain: summarize(plainSamples),
      results: setups.map((s) => ({ kind: s.kind, total: summarize(s.total), handshake: summarize(s.handshakeOnly) })),
    };
  } finally {
    await plainListener.close();
    for (const setup of setups) await setup.listener.close();
    remove();
  }
}
