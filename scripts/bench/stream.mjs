// Encrypted vs plain stream throughput on loopback, sender and receiver in separate processes.
// Same chunking (256 KiB messages) and the same in-flight cap (4 MiB) in every mode; only what
// differs between them is measured: clipsync's framing + ChaCha20-Poly1305 channel.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { generateIdentityFile, loadIdentityFile } from '../../dist/identity/identity.js';
import { Connection } from '../../dist/protocol/connection.js';
import { FrameType } from '../../dist/wire/frame.js';
import { openSocket } from '../../dist/transport/dialer.js';
import { silentLog, summarize, tempDir } from './lib.mjs';

const CHUNK = 256 * 1024;
const IN_FLIGHT = 4 * 1024 * 1024;
const TOTAL = Number(process.env.BENCH_STREAM_MIB ?? 256) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_STREAM_RUNS ?? 9);
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

async function plainRun(port, zeroMask, runs, total = TOTAL, chunk = CHUNK) {
  const message = chunk === CHUNK ? payload : Buffer.alloc(chunk, 0x5a);
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, {
    perMessageDeflate: false,
    ...(zeroMask ? { generateMask: (mask) => mask.fill(0) } : {}),
  });
  await new Promise((resolve) => socket.once('open', resolve));
  const results = [];
  for (let run = 0; run < runs; run++) {
    const done = new Promise((resolve) => socket.once('message', resolve));
    socket.send(String(total));
    const start = process.hrtime.bigint();
    let inFlight = 0;
    let wake;
    for (let sent = 0; sent < total; sent += chunk) {
      if (inFlight > IN_FLIGHT) await new Promise((resolve) => (wake = resolve));
      // Exactly `total` bytes: the last message is shorter when the chunk does not divide it.
      const length = Math.min(chunk, total - sent);
      inFlight += length;
      socket.send(length === chunk ? message : message.subarray(0, length), { binary: true }, () => {
        inFlight -= length;
        if (inFlight <= IN_FLIGHT && wake) {
          const w = wake;
          wake = undefined;
          w();
        }
      });
    }
    await done;
    results.push(total / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  socket.terminate();
  return results;
}

/** Raw ws as usually configured (client masking on), same chunking and window: the transfer bench's ceiling. */
export async function plainWsRate(total, chunk = CHUNK) {
  const receiver = await startReceiver(['plain']);
  try {
    return (await plainRun(receiver.port, false, 1, total, chunk))[0];
  } finally {
    receiver.stop();
  }
}

async function encryptedRun(port, identity, runs) {
  const connection = new Connection(openSocket({ kind: 'tcp', host: '127.0.0.1', port }, 10_000), {
    remote: 'bench',
    handshake: { role: 'initiator', identity, name: 'sender', checkTrust: async () => ({ name: 'bench' }) },
    handshakeTimeoutMs: 10_000,
    log: silentLog,
  });
  await connection.established();
  const results = [];
  for (let run = 0; run < runs; run++) {
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
      // Rounds interleave the modes, so each round compares them under the same conditions
      // (other load on a 2-core machine drifts over seconds); ratios are taken per round.
      const modes = [
        { mode: 'plain ws, default client masking', pid: plainReceiver.pid, run: () => plainRun(plainReceiver.port, false, 1) },
        { mode: 'plain ws, zero mask (clipsync transport settings)', pid: plainReceiver.pid, run: () => plainRun(plainReceiver.port, true, 1) },
        { mode: 'clipsync encrypted channel', pid: encryptedReceiver.pid, run: () => encryptedRun(encryptedReceiver.port, sender, 1) },
      ];
      const acc = modes.map(() => ({ rates: [], senderCpu: 0, receiverCpu: 0 }));
      for (let round = 0; round < RUNS; round++) {
        for (const [i, m] of modes.entries()) {
          const { rates, senderCpu, receiverCpu } = await withCpu(m.pid, m.run);
          acc[i].rates.push(...rates);
          acc[i].senderCpu += senderCpu / RUNS;
          acc[i].receiverCpu = receiverCpu === undefined ? undefined : (acc[i].receiverCpu ?? 0) + receiverCpu / RUNS;
        }
      }
      const rows = modes.map((m, i) => ({ mode: m.mode, ...summarize(acc[i].rates), ...acc[i] }));
      const ratios = acc[2].rates.map((rate, round) => rate / acc[0].rates[round]);
      return { totalBytes: TOTAL, runs: RUNS, chunk: CHUNK, rows, ratios: summarize(ratios), ratioSamples: ratios };
    } finally {
      plainReceiver.stop();
      encryptedReceiver.stop();
    }
  } finally {
    remove();
  }
}
