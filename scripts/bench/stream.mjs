// Encrypted vs plain stream throughput on loopback, sender and receiver in separate processes.
// Same chunking (256 KiB messages) and the same in-flight cap (4 MiB) in every mode; only what
// differs between them is measured: clipsync's framing + XChaCha20-Poly1305 secretstream.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { generateIdentityFile, loadIdentityFile } from '../../dist/identity/identity.js';
import { Connection } from '../../dist/protocol/connection.js';
import { FrameType } from '../../dist/protocol/frame.js';
import { openSocket } from '../../dist/transport/dialer.js';
import { silentLog, summarize, tempDir } from './lib.mjs';

const CHUNK = 256 * 1024;
const IN_FLIGHT = 4 * 1024 * 1024;
const TOTAL = Number(process.env.BENCH_STREAM_MIB ?? 256) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_STREAM_RUNS ?? 3);
const receiverScript = fileURLToPath(new URL('./stream-receiver.mjs', import.meta.url));

async function startReceiver(args) {
  const child = spawn(process.execPath, [receiverScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
  });
  return { port: JSON.parse(line).port, pid: child.pid, stop: () => child.kill() };
}

const payload = Buffer.alloc(CHUNK, 0x5a);

/** CPU seconds a process has used (Linux /proc; undefined elsewhere). */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Runs `body` and reports how busy sender and receiver were, as a share of one core each. */
async function withCpu(receiverPid, body) {
  const sender0 = process.cpuUsage();
  const receiver0 = cpuSecondsOf(receiverPid);
  const start = process.hrtime.bigint();
  const rates = await body();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const sender = process.cpuUsage(sender0);
  const receiver1 = cpuSecondsOf(receiverPid);
  return {
    rates,
    senderCpu: (sender.user + sender.system) / 1e6 / wall,
    receiverCpu: receiver0 === undefined || receiver1 === undefined ? undefined : (receiver1 - receiver0) / wall,
  };
}

async function plainRun(port, zeroMask) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, {
    perMessageDeflate: false,
    ...(zeroMask ? { generateMask: (mask) => mask.fill(0) } : {}),
  });
  await new Promise((resolve) => socket.once('open', resolve));
  const results = [];
  for (let run = 0; run < RUNS; run++) {
    const done = new Promise((resolve) => socket.once('message', resolve));
    socket.send(String(TOTAL));
    const start = process.hrtime.bigint();
    let inFlight = 0;
    let wake;
    for (let sent = 0; sent < TOTAL; sent += CHUNK) {
      if (inFlight > IN_FLIGHT) await new Promise((resolve) => (wake = resolve));
      inFlight += CHUNK;
      socket.send(payload, { binary: true }, () => {
        inFlight -= CHUNK;
        if (inFlight <= IN_FLIGHT && wake) {
          const w = wake;
          wake = undefined;
          w();
        }
      });
    }
    await done;
    results.push(TOTAL / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  socket.terminate();
  return results;
}

async function encryptedRun(port, identity) {
  const connection = new Connection(openSocket({ kind: 'tcp', host: '127.0.0.1', port }, 10_000), {
    remote: 'bench',
    handshake: { role: 'initiator', identity, name: 'sender', checkTrust: async () => ({ name: 'bench' }) },
    handshakeTimeoutMs: 10_000,
    log: silentLog,
  });
  await connection.established();
  const results = [];
  for (let run = 0; run < RUNS; run++) {
    const done = new Promise((resolve) => connection.once('frame', resolve));
    await connection.send(FrameType.offer, { size: TOTAL });
    const start = process.hrtime.bigint();
    for (let offset = 0; offset < TOTAL; offset += CHUNK) {
      await connection.send(FrameType.data, { id: 'bench', offset }, payload);
    }
    await done;
    results.push(TOTAL / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  connection.close(1000, 'done');
  return results;
}

export async function benchStream() {
  const { dir, remove } = tempDir();
  try {
    await generateIdentityFile(join(dir, 'sender'), 'sender');
    await generateIdentityFile(join(dir, 'receiver'), 'receiver');
    const sender = await loadIdentityFile(join(dir, 'sender'));
    const plainReceiver = await startReceiver(['plain']);
    const encryptedReceiver = await startReceiver(['encrypted', join(dir, 'receiver')]);
    try {
      const rows = [];
      const row = async (mode, pid, body) => {
        const { rates, senderCpu, receiverCpu } = await withCpu(pid, body);
        rows.push({ mode, ...summarize(rates), rates, senderCpu, receiverCpu });
      };
      await row('plain ws, default client masking', plainReceiver.pid, () => plainRun(plainReceiver.port, false));
      await row('plain ws, zero mask (clipsync transport settings)', plainReceiver.pid, () => plainRun(plainReceiver.port, true));
      await row('clipsync encrypted channel', encryptedReceiver.pid, () => encryptedRun(encryptedReceiver.port, sender));
      return { totalBytes: TOTAL, runs: RUNS, chunk: CHUNK, rows };
    } finally {
      plainReceiver.stop();
      encryptedReceiver.stop();
    }
  } finally {
    remove();
  }
}
