// Private desktops for the clipboard benchmark: Xvfb displays and headless sway compositors,
// and daemons of any clipsync build (this one, or the polling design it replaced) on them.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { IpcClient } from '../../dist/ipc/client.js';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export function have(tool) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** An Xvfb display; resolves once it accepts clients. */
export function startXvfb() {
  return new Promise((resolve, reject) => {
    const proc = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let number = '';
    proc.stdio[3].on('data', (d) => {
      number += d.toString();
      if (number.includes('\n')) resolve({ display: `:${number.trim()}`, env: { DISPLAY: `:${number.trim()}`, WAYLAND_DISPLAY: '' }, stop: () => kill(proc) });
    });
    proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
  });
}

/** A headless sway as `nobody` (it refuses root), reached by the socket's absolute path. */
export async function startSway() {
  const dir = mkdtempSync('/tmp/cs-bench-sway-');
  chownSync(dir, 65534, 65534);
  chmodSync(dir, 0o700);
  const proc = spawn(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', `XDG_RUNTIME_DIR=${dir}`, 'WLR_BACKENDS=headless', 'WLR_LIBINPUT_NO_DEVICES=1', 'WLR_RENDERER=pixman', 'sway', '-c', '/dev/null'],
    { stdio: 'ignore' },
  );
  const socket = join(dir, 'wayland-1');
  await until(() => existsSync(socket), 20_000);
  return {
    env: { WAYLAND_DISPLAY: socket, DISPLAY: '' },
    stop: async () => {
      await kill(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `clipsync` of the build at `cli` (dist/cli/main.js of some checkout). */
export function runCli(cli, home, args, env = {}) {
  return execFileSync(process.execPath, [cli, ...args, '--home', home], { env: { ...process.env, ...env, CLIPSYNC_LOG_LEVEL: 'warn' } });
}

/** Two homes of that build that trust each other. */
export function pairedHomes(cli, dir) {
  const homes = [join(dir, 'one'), join(dir, 'two')];
  for (const [i, home] of homes.entries()) runCli(cli, home, ['init', '--name', `bench-${i}`]);
  const key = (home) => JSON.parse(runCli(cli, home, ['id', '--json']).toString()).publicKey;
  runCli(cli, homes[0], ['trust', key(homes[1])]);
  runCli(cli, homes[1], ['trust', key(homes[0])]);
  return homes;
}

/** A daemon of the build at `cli` on the desktop `env`, with the system clipboard. */
export async function startDesktopDaemon(cli, home, env, args = []) {
  const child = spawn(process.execPath, [cli, 'daemon', '--home', home, '--no-mdns', ...args], {
    env: { ...process.env, ...env, CLIPSYNC_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = new IpcClient(join(home, 'clipsync.sock'));
  await until(async () => (await client.json({ method: 'GET', path: '/v1/status' }).catch(() => undefined)) !== undefined, 30_000);
  const status = await client.json({ method: 'GET', path: '/v1/status' });
  return {
    child,
    client,
    listen: status.listen,
    /** CPU seconds of the daemon, its finished children, and the children still running. */
    cpuSeconds: () => processTree(child.pid).reduce((sum, pid) => sum + cpuOf(pid, pid === child.pid), 0),
    /** Resident memory of the daemon and of its running children, in bytes. */
    rss: () => processTree(child.pid).reduce((sum, pid) => sum + rssOf(pid), 0),
    async waitConnected() {
      await until(async () => (await client.json({ method: 'GET', path: '/v1/peers' })).some((p) => p.state === 'connected'), 30_000);
    },
    stop: () => kill(child),
  };
}

function cpuOf(pid, withReaped) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime, stime, and for the daemon cutime + cstime: the clipboard tools it spawned and reaped
    return (Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function rssOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return 0;
  }
}

/** `pid` and every process below it. */
function processTree(pid) {
  const parents = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

export async function until(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function kill(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  return exited;
}
