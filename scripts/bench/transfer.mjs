// Daemon-to-daemon clip transfer on loopback (TCP and Unix socket), beside the ceilings of the
// same machine in the same run: raw ws with the same chunking and no encryption, raw TCP, and
// an OpenSSH pipe. Then both daemons' peak RSS for a small and a large clip.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { plainWsRate } from './stream.mjs';
import { MAX_DATA_BODY_BYTES as DATA_CHUNK_BYTES } from '../../dist/protocol/limits.js';
import { DAEMON_NODE_FLAGS, startDaemon, timedTransfer, trustedHomes } from './daemons.mjs';
import { secondsOf, summarize, tempDir } from './lib.mjs';
import { SSH_CIPHERS, startSshd } from './sshd.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_TRANSFER_MIB ?? 256) * MiB;
const RUNS = Number(process.env.BENCH_TRANSFER_RUNS ?? 3);
/** The baselines move data in the daemon's own DATA frame size. */
const CHUNK = DATA_CHUNK_BYTES;

/** A file of random bytes, written in slices so the bench itself stays small; `salt` makes each run a new clip. */
export function randomFile(path, size, salt) {
  const fd = openSync(path, 'w');
  const slice = Buffer.allocUnsafe(4 * MiB);
  for (let written = 0; written < size; written += slice.length) {
    randomFillSync(slice);
    if (written === 0) slice.writeUInt32LE(salt, 0);
    writeSync(fd, slice, 0, Math.min(slice.length, size - written));
  }
  closeSync(fd);
  return path;
}

export async function daemonPair(dir, transport, nodeFlags = DAEMON_NODE_FLAGS) {
  // Every clip moves eagerly: over eagerLimitBytes it would only be announced, and there
  // would be no transfer to time.
  const homes = trustedHomes(dir, { eagerLimitBytes: 2 ** 40 });
  const listen = transport === 'unix' ? `unix:${join(dir, 'r.sock')}` : 'tcp://127.0.0.1:0';
  const receiver = await startDaemon(homes.receiver, ['--listen', listen], nodeFlags);
  const address = transport === 'unix' ? listen : receiver.listen[0];
  const sender = await startDaemon(homes.sender, ['--listen', `unix:${join(dir, 's.sock')}`, '--peer', address], nodeFlags);
  await sender.waitConnected();
  return { homes, sender, receiver, stop: () => Promise.all([sender.stop(), receiver.stop()]) };
}

async function clipsyncRates(transport, runs, nodeFlags, cpu) {
  const { dir, remove } = tempDir();
  try {
    const pair = await daemonPair(dir, transport, nodeFlags);
    try {
      const rates = [];
      for (let run = 0; run < runs; run++) {
        const file = randomFile(join(dir, `clip-${run}.bin`), SIZE, run + 1);
        rates.push(await timedTransfer(pair.sender, pair.receiver, pair.homes.sender, file, cpu));
      }
      return rates;
    } finally {
      await pair.stop();
    }
  } finally {
    remove();
  }
}

/** Raw TCP: a node `net` socket pair on loopback, writes of the daemon's frame size with backpressure. */
async function rawTcpRate() {
  const server = createServer((socket) => {
    let received = 0;
    socket.on('data', (d) => {
      received += d.length;
      if (received >= SIZE) socket.end('done');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = createConnection(server.address().port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const start = process.hrtime.bigint();
  const done = new Promise((resolve) => socket.once('data', resolve));
  for (let sent = 0; sent < SIZE; sent += CHUNK) {
    if (!socket.write(chunk.subarray(0, Math.min(CHUNK, SIZE - sent)))) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await done;
  const rate = SIZE / (Number(process.hrtime.bigint() - start) / 1e9);
  socket.destroy();
  server.close();
  return rate;
}

/**
 * OpenSSH: a throwaway sshd on loopback (only when openssh-server is installed), and
 * `ssh HOST 'cat > /dev/null' < FILE` with the default cipher and with aes128-gcm. Reported
 * with and without the connection setup, which ssh pays once per session.
 */
async function sshRates(dir) {
  const server = await startSshd(dir);
  if (server.missing !== undefined) return { missing: server.missing };
  try {
    const file = randomFile(join(dir, 'ssh.bin'), SIZE, 99);
    const { base, port } = server;
    const time = (args, input) =>
      secondsOf(() => execFileSync('ssh', [...base, ...args, '127.0.0.1', input ? 'cat > /dev/null' : 'true'], { stdio: [input ? openSync(file, 'r') : 'ignore', 'ignore', 'inherit'] }));
    const rows = {};
    for (const [label, args] of SSH_CIPHERS) {
      const connect = summarize(Array.from({ length: 3 }, () => time(args, false))).median;
      const totals = Array.from({ length: RUNS }, () => time(args, true));
      const total = summarize(totals).median;
      rows[label] = { connect, rateWithConnect: SIZE / total, rate: SIZE / Math.max(1e-6, total - connect), cpu: await sshCpu(server.sshd, server.config, port + 1, base, args, file) };
    }
    return { rows };
  } finally {
    server.stop();
  }
}

/**
 * CPU seconds of one `ssh … 'cat > /dev/null' < FILE`: the ssh client plus a dedicated sshd
 * and everything it forked for the session (privilege separation, the shell, cat), each
 * counted by /usr/bin/time once the process and its reaped descendants are gone.
 */
async function sshCpu(sshd, config, port, base, args, file) {
  if (!existsSync('/usr/bin/time')) return undefined;
  const dir = join(file, '..');
  const serverCpu = join(dir, 'sshd.cpu');
  const clientCpu = join(dir, 'ssh.cpu');
  const own = join(dir, 'sshd_cpu_config');
  writeFileSync(own, readFileSync(config, 'utf8').replace(/^Port .*$/m, `Port ${port}`));
  const timed = spawn('/usr/bin/time', ['-f', '%U %S', '-o', serverCpu, sshd, '-D', '-e', '-f', own], { stdio: 'ignore' });
  try {
    const sshdPid = await waitForChild(timed.pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const start = process.hrtime.bigint();
    execFileSync('/usr/bin/time', ['-f', '%U %S', '-o', clientCpu, 'ssh', '-p', String(port), ...base.slice(2), ...args, '127.0.0.1', 'cat > /dev/null'], {
      stdio: [openSync(file, 'r'), 'ignore', 'inherit'],
    });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    process.kill(sshdPid, 'SIGTERM');
    await new Promise((resolve) => timed.once('exit', resolve));
    const seconds = (path) => readFileSync(path, 'utf8').trim().split(/\s+/).slice(-2).map(Number).reduce((a, b) => a + b, 0);
    return { client: seconds(clientCpu), server: seconds(serverCpu), wall };
  } finally {
    timed.kill();
  }
}

/** The pid of the one child of `pid` (sshd under /usr/bin/time), once it exists. */
async function waitForChild(pid) {
  for (let i = 0; i < 100; i++) {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      if (children !== '') return Number(children.split(/\s+/)[0]);
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('sshd did not start under /usr/bin/time');
}

/** Peak RSS of both daemons after one clip of `size` bytes, fresh daemons per size. */
async function peakRss(size) {
  const { dir, remove } = tempDir();
  try {
    const pair = await daemonPair(dir, 'tcp');
    try {
      const file = randomFile(join(dir, 'clip.bin'), size, 7);
      await timedTransfer(pair.sender, pair.receiver, pair.homes.sender, file);
      return { sender: pair.sender.peakRss(), receiver: pair.receiver.peakRss() };
    } finally {
      await pair.stop();
    }
  } finally {
    remove();
  }
}

export async function benchTransfer() {
  const { dir, remove } = tempDir();
  try {
    // Interleaved rounds: each round runs every mode once, so drifting load hits all alike.
    const rates = { tcp: [], unix: [], tcpNoFlags: [], ws: [], raw: [] };
    /** CPU seconds of both daemons over the timed windows of the TCP rows, and those windows. */
    const cpu = { sender: 0, receiver: 0, wall: 0, whole: { sender: 0, receiver: 0 } };
    for (let round = 0; round < RUNS; round++) {
      rates.tcp.push(...(await clipsyncRates('tcp', 1, DAEMON_NODE_FLAGS, cpu)));
      rates.unix.push(...(await clipsyncRates('unix', 1)));
      rates.tcpNoFlags.push(...(await clipsyncRates('tcp', 1, [])));
      rates.ws.push(await plainWsRate(SIZE, CHUNK));
      rates.raw.push(await rawTcpRate());
    }
    const ssh = await sshRates(dir);
    const rss = { small: await peakRss(64 * MiB), large: await peakRss(512 * MiB) };
    return {
      size: SIZE,
      runs: RUNS,
      clipsyncTcp: summarize(rates.tcp),
      clipsyncUnix: summarize(rates.unix),
      clipsyncTcpNoFlags: summarize(rates.tcpNoFlags),
      nodeFlags: DAEMON_NODE_FLAGS,
      cpu: { sender: cpu.sender / RUNS, receiver: cpu.receiver / RUNS, wall: cpu.wall / RUNS, whole: { sender: cpu.whole.sender / RUNS, receiver: cpu.whole.receiver / RUNS } },
      chunk: CHUNK,
      rawWs: summarize(rates.ws),
      rawTcp: summarize(rates.raw),
      ratiosToWs: rates.tcp.map((r, i) => r / rates.ws[i]),
      ssh,
      rss,
    };
  } finally {
    remove();
  }
}
