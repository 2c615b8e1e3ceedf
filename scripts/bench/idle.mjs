// What an idle daemon costs: a clipsync daemon with the memory clipboard, no peers and no mDNS,
// beside a bare `node` process holding an open `ws` server (what no Node daemon with a
// WebSocket listener can go below), both measured in the same run by the same method.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cli, DAEMON_ENV, DAEMON_NODE_FLAGS, startDaemon } from './daemons.mjs';
import { tempDir } from './lib.mjs';

/** USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
/** Start-up work (module loading, the first GCs, the memory reducer's first passes) is not idle. */
const SETTLE_SECONDS = Number(process.env.BENCH_IDLE_SETTLE_SECONDS ?? 20);
const WS_PATH = createRequire(import.meta.url).resolve('ws');

/** The baseline: Node with the daemon's flags, `ws` loaded and a server listening on loopback. */
const BARE_WS_SERVER = `
const { WebSocketServer } = require(${JSON.stringify(WS_PATH)});
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => console.log('ready'));
server.on('connection', (socket) => socket.on('message', () => undefined));
`;

export async function benchIdle() {
  const scratch = tempDir('cs-bench-idle-');
  const home = `${scratch.dir}/home`;
  cli(home, ['init', '--name', 'idle']);
  const daemon = await startDaemon(home, ['--listen', 'tcp://127.0.0.1:0']);
  const bare = await startBareWsServer();
  try {
    await sleep(SETTLE_SECONDS * 1000);
    const processes = [
      { name: 'clipsync daemon (memory clipboard, no peers, no mDNS)', pid: daemon.child.pid },
      { name: 'baseline: bare node with a ws server listening', pid: bare.pid },
    ];
    const rows = await measure(processes, IDLE_SECONDS);
    return { seconds: IDLE_SECONDS, settle: SETTLE_SECONDS, nodeFlags: DAEMON_NODE_FLAGS, daemon: rows[0], bare: rows[1] };
  } finally {
    await daemon.stop();
    bare.kill('SIGTERM');
    scratch.remove();
  }
}

function startBareWsServer() {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, '-e', BARE_WS_SERVER], { env: { ...process.env, ...DAEMON_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the bare ws server exited (${code})`)));
  });
}

/**
 * CPU (utime + stime of every thread, from /proc/PID/stat), wake-ups (voluntary context
 * switches of every thread: each is a thread going to sleep, so each wake-up ends in one) and
 * resident memory (sampled once a second; the largest sample is reported) over `seconds`.
 */
async function measure(processes, seconds) {
  const start = processes.map((p) => ({ cpu: cpuSeconds(p.pid), wakes: wakeUps(p.pid) }));
  const peakRss = processes.map(() => 0);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    for (const [j, p] of processes.entries()) peakRss[j] = Math.max(peakRss[j], rss(p.pid));
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return processes.map((p, j) => ({
    name: p.name,
    cpuShare: (cpuSeconds(p.pid) - start[j].cpu) / wall,
    wakeUpsPerSecond: (wakeUps(p.pid) - start[j].wakes) / wall,
    rss: peakRss[j],
    threads: readdirSync(`/proc/${p.pid}/task`).length,
  }));
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function wakeUps(pid) {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))[1]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return sum;
}

function rss(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
