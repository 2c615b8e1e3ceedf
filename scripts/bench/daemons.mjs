// Real clipsync daemons for the transfer benchmark: homes that trust each other, started as
// child processes, driven through the CLI and the control socket as a user's scripts would.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcClient } from '../../dist/ipc/client.js';

/** USER_HZ: /proc reports CPU time in these ticks (100 on every Linux build in use). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export function cli(home, args, input) {
  return execFileSync(process.execPath, [CLI, ...args, '--home', home], {
    input,
    env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Two homes, `sender` and `receiver`, each trusting the other. */
export function trustedHomes(dir, config = {}) {
  const homes = { sender: join(dir, 'sender'), receiver: join(dir, 'receiver') };
  for (const [name, home] of Object.entries(homes)) {
    cli(home, ['init', '--name', name]);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')), ...config }));
  }
  const key = (home) => JSON.parse(cli(home, ['id', '--json']).toString()).publicKey;
  cli(homes.sender, ['trust', key(homes.receiver)]);
  cli(homes.receiver, ['trust', key(homes.sender)]);
  return homes;
}

/**
 * The Node flags and the environment `npm start` (and the systemd unit) give the daemon, read
 * from package.json so the benchmark measures the daemon as it is run. BENCH_DAEMON_NODE_FLAGS
 * replaces the flags, e.g. with '' to measure without, or with profiling flags;
 * BENCH_DAEMON_PLAIN_ENV=1 leaves out the environment (GLIBC_TUNABLES), as a plain
 * `clipsync daemon` runs.
 */
const START_WORDS = (() => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));
  return pkg.scripts.start.split(/\s+/);
})();
export const DAEMON_NODE_FLAGS = (() => {
  if (process.env.BENCH_DAEMON_NODE_FLAGS !== undefined) return process.env.BENCH_DAEMON_NODE_FLAGS.split(' ').filter(Boolean);
  return START_WORDS.slice(START_WORDS.indexOf('node') + 1, START_WORDS.indexOf('dist/cli/main.js')).filter((word) => word.startsWith('--'));
})();
export const DAEMON_ENV = (() => {
  if (process.env.BENCH_DAEMON_PLAIN_ENV === '1') return {};
  const words = START_WORDS.slice(0, START_WORDS.indexOf('node')).filter((word) => /^[A-Z_][A-Z0-9_]*=/.test(word));
  return Object.fromEntries(words.map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]));
})();

/** How the daemons here are started, for the report: `GLIBC_TUNABLES=… node --flags`. */
export function daemonStartLine(nodeFlags = DAEMON_NODE_FLAGS) {
  return [...Object.entries(DAEMON_ENV).map(([name, value]) => `${name}=${value}`), 'node', ...nodeFlags].join(' ');
}

/** `plainEnv`: without DAEMON_ENV, as a daemon started by hand (`clipsync daemon`) runs; `env`: more variables. */
export async function startDaemon(home, args, nodeFlags = DAEMON_NODE_FLAGS, { plainEnv = false, env = {} } = {}) {
  const child = spawn(process.execPath, [...nodeFlags, CLI, 'daemon', '--home', home, '--clipboard', 'memory', '--no-mdns', ...args], {
    env: { ...process.env, ...(plainEnv ? {} : DAEMON_ENV), ...env, CLIPSYNC_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = new IpcClient(join(home, 'clipsync.sock'));
  await until(async () => (await client.json({ method: 'GET', path: '/v1/status' }).catch(() => undefined)) !== undefined);
  const status = await client.json({ method: 'GET', path: '/v1/status' });
  return {
    child,
    client,
    pid: status.pid,
    listen: status.listen,
    /** CPU seconds used so far by the whole process (every thread, user and system). */
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    /** Peak resident set size so far (VmHWM), in bytes. */
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024,
    async waitConnected() {
      await until(async () => (await client.json({ method: 'GET', path: '/v1/peers' })).some((p) => p.state === 'connected'));
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/**
 * Copies `file` on the sender and times the transfer as the receiver reports it: from its
 * first progress event (the OFFER was accepted) to the end event of a verified clip. With
 * `cpu`, the CPU seconds each daemon spent in that window are added to it, and (as `whole`)
 * those of the whole command: from before the CLI starts until the sender's own copy of the
 * file is in its spool, which `copy FILE --wait` makes after the peer answered.
 */
export async function timedTransfer(sender, receiver, senderHome, file, cpu) {
  let started;
  let cpuAtStart;
  const finished = (async () => {
    for await (const line of receiver.client.lines({ method: 'GET', path: '/v1/events' })) {
      if (line.transfer.direction !== 'receive') continue;
      if (line.event === 'progress' && started === undefined) {
        started = process.hrtime.bigint();
        cpuAtStart = { sender: sender.cpuSeconds(), receiver: receiver.cpuSeconds() };
      }
      if (line.event === 'end') {
        if (line.outcome !== 'completed') throw new Error(`transfer ended ${line.outcome}: ${line.detail}`);
        if (cpu !== undefined) {
          cpu.sender += sender.cpuSeconds() - cpuAtStart.sender;
          cpu.receiver += receiver.cpuSeconds() - cpuAtStart.receiver;
        }
        return { ended: process.hrtime.bigint(), size: line.transfer.total };
      }
    }
    throw new Error('event stream closed');
  })();
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the event stream attach
  const wholeAtStart = { sender: sender.cpuSeconds(), receiver: receiver.cpuSeconds() };
  // Asynchronously: the event stream must be read while the copy runs.
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'copy', file, '--wait', '--json', '--home', senderHome], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' } });
  const { ended, size } = await finished;
  if (cpu !== undefined) {
    const { id } = JSON.parse(stdout);
    await until(async () => existsSync(join(senderHome, 'spool', id))); // the sender's own copy, made after the answer
    cpu.whole ??= { sender: 0, receiver: 0 };
    cpu.whole.sender += sender.cpuSeconds() - wholeAtStart.sender;
    cpu.whole.receiver += receiver.cpuSeconds() - wholeAtStart.receiver;
  }
  const seconds = Number(ended - started) / 1e9;
  if (cpu !== undefined) cpu.wall += seconds;
  return size / seconds;
}

async function until(check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
