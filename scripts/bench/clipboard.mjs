// Copy-to-pasteable latency between two desktops, and idle cost, for the event-driven clipboard
// engine beside the polling design it replaced (the build of BASELINE_COMMIT, made here in a
// temporary worktree), in the same run. What is timed is what a user waits for: from the copy
// in an app on desktop A (xclip / wl-copy started) to the clip being pasteable in an app on
// desktop B (B's clipboard owner changed and serves the same bytes). The detector on B is the
// same for both designs: an X11 or Wayland clipboard client with change events, no polling.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X11Backend } from '../../dist/clipboard/x11/x11-backend.js';
import { WaylandBackend } from '../../dist/clipboard/wayland/wayland-backend.js';
import { have, pairedHomes, startDesktopDaemon, startSway, startXvfb } from './desktops.mjs';
import { silentLog, summarize, tempDir } from './lib.mjs';

/** The last commit of the polling design (clipboardy, every 500 ms), before issue 12. */
const BASELINE_COMMIT = '8e34203';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CURRENT_CLI = join(ROOT, 'dist/cli/main.js');
const SAMPLES = Number(process.env.BENCH_CLIPBOARD_SAMPLES ?? 30);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);

export async function benchClipboard() {
  const missing = ['Xvfb', 'xclip', 'sway', 'wl-copy', 'setpriv'].filter((t) => !have(t));
  if (missing.length > 0) return { skipped: `needs ${missing.join(', ')} (apt-get install xvfb xclip sway wl-clipboard)` };
  const scratch = tempDir('cs-bench-clip-');
  try {
    const baselineCli = buildBaseline(scratch.dir);
    const designs = [
      { name: 'event-driven (this build)', cli: CURRENT_CLI },
      { name: `baseline: polling design (${BASELINE_COMMIT})`, cli: baselineCli },
    ].filter((d) => d.cli !== undefined);
    const latency = [];
    for (const desktop of ['x11', 'wayland']) {
      for (const design of designs) latency.push({ desktop, design: design.name, ...(await latencyRun(desktop, design.cli, join(scratch.dir, `${desktop}-${latency.length}`))) });
    }
    const idle = await idleRun(designs, scratch.dir);
    return { samples: SAMPLES, idleSeconds: IDLE_SECONDS, baseline: baselineCli === undefined ? 'not built' : BASELINE_COMMIT, latency, idle };
  } finally {
    scratch.remove();
  }
}

/** Builds the baseline commit in a temporary worktree; undefined when that is not possible here. */
function buildBaseline(dir) {
  const tree = join(dir, 'baseline');
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', tree, BASELINE_COMMIT], { stdio: 'ignore' });
    execFileSync('cp', ['-al', join(ROOT, 'node_modules'), join(tree, 'node_modules')]);
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(tree, 'tsconfig.json')], { stdio: 'ignore' });
    return existsSync(join(tree, 'dist/cli/main.js')) ? join(tree, 'dist/cli/main.js') : undefined;
  } catch {
    return undefined;
  } finally {
    process.once('exit', () => {
      try {
        execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    });
  }
}

async function startDesktop(kind) {
  return kind === 'x11' ? startXvfb() : startSway();
}

/** A clipboard client on a desktop that calls `seen(text)` when its clipboard changes. */
async function watchClipboard(kind, env, seen) {
  const backend = kind === 'x11' ? await X11Backend.connect(env.DISPLAY, silentLog) : new WaylandBackend({ log: silentLog, env: { ...process.env, ...env }, primary: false });
  const options = { accept: (m) => m === 'text/plain;charset=utf-8', maxFormatBytes: 1 << 20 };
  await backend.start({
    changed: () =>
      void backend
        .read('clipboard', options)
        .then((snap) => snap?.formats[0] && seen(snap.formats[0].data.toString('utf8')))
        .catch(() => undefined),
    reconnected: () => undefined,
  });
  return backend;
}

/**
 * Copies text in an app on a desktop: xclip or wl-copy, which stay behind to serve it. The type
 * is given, as apps give it: without -t, wl-copy runs xdg-mime to guess it (about 150 ms here).
 */
function appCopy(kind, env, text) {
  const [cmd, args] = kind === 'x11' ? ['xclip', ['-selection', 'clipboard', '-i', '-t', 'UTF8_STRING']] : ['wl-copy', ['-t', 'text/plain;charset=utf-8']];
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'ignore'] });
  proc.stdin.end(text);
}

async function latencyRun(kind, cli, dir) {
  const [a, b] = await Promise.all([startDesktop(kind), startDesktop(kind)]);
  const homes = pairedHomes(cli, dir);
  const da = await startDesktopDaemon(cli, homes[0], a.env, ['--clipboard', 'system', '--listen', 'tcp://127.0.0.1:0']);
  const db = await startDesktopDaemon(cli, homes[1], b.env, ['--clipboard', 'system', '--listen', 'tcp://127.0.0.1:0', '--peer', da.listen[0]]);
  // Keyed by desktop and text: the copying desktop sees its own copy at once, and must not count.
  const waiting = new Map();
  const watchers = [await watchClipboard(kind, a.env, (t) => waiting.get(`a:${t}`)?.()), await watchClipboard(kind, b.env, (t) => waiting.get(`b:${t}`)?.())];
  try {
    await Promise.all([da.waitConnected(), db.waitConnected()]);
    const timeOne = async (from, to, text) => {
      const key = `${to}:${text}`;
      const arrived = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not pasteable within 10 s')), 10_000);
        waiting.set(key, () => {
          clearTimeout(timer);
          resolve(process.hrtime.bigint());
        });
      });
      const start = process.hrtime.bigint();
      appCopy(kind, from.env, text);
      const end = await arrived.finally(() => waiting.delete(key));
      return Number(end - start) / 1e6;
    };
    const aToB = [];
    const bToA = [];
    let missed = 0;
    for (let i = 0; i < SAMPLES; i++) {
      for (const [from, to, list] of [[a, 'b', aToB], [b, 'a', bToA]]) {
        const text = `to ${to} ${i} ${Math.random()}`;
        try {
          list.push(await timeOne(from, to, text));
        } catch {
          missed += 1;
        }
      }
    }
    return { aToB: summarize(aToB), bToA: summarize(bToA), both: summarize([...aToB, ...bToA]), missed };
  } finally {
    for (const w of watchers) await w.stop().catch(() => undefined);
    await Promise.all([da.stop(), db.stop()]);
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** Idle daemons (no peers, no mDNS, nothing copied) on each backend, all measured at once. */
async function idleRun(designs, dir) {
  const rows = [];
  const started = [];
  const setups = [
    ...designs.flatMap((d) => [
      { design: d.name, backend: 'x11 (Xvfb)', cli: d.cli, desktop: 'x11' },
      { design: d.name, backend: 'wayland (sway)', cli: d.cli, desktop: 'wayland' },
    ]),
    { design: designs[0].name, backend: 'memory', cli: designs[0].cli, desktop: undefined },
  ];
  try {
    for (const [i, s] of setups.entries()) {
      const desktop = s.desktop === undefined ? undefined : await startDesktop(s.desktop);
      const home = join(dir, `idle-${i}`);
      execFileSync(process.execPath, [s.cli, 'init', '--name', `idle-${i}`, '--home', home], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' } });
      const daemon = await startDesktopDaemon(s.cli, home, desktop?.env ?? { DISPLAY: '', WAYLAND_DISPLAY: '' }, ['--clipboard', s.desktop === undefined ? 'memory' : 'system', '--listen', 'tcp://127.0.0.1:0']);
      started.push({ setup: s, desktop, daemon });
    }
    await new Promise((resolve) => setTimeout(resolve, 3000)); // past start-up work
    const before = started.map((x) => x.daemon.cpuSeconds());
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const [i, x] of started.entries()) {
      rows.push({ design: x.setup.design, backend: x.setup.backend, cpuShare: (x.daemon.cpuSeconds() - before[i]) / seconds, rss: x.daemon.rss() });
    }
  } finally {
    for (const x of started) {
      await x.daemon.stop();
      await x.desktop?.stop();
    }
  }
  return rows;
}
