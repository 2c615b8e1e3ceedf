// Files and folders moved to another machine, as the user waits for them: a folder of many
// small files and one large file, each from the start of the command until the files are on
// the other side's disk. clipsync (`copy --files … --wait`, then `paste --to DIR` on the peer)
// beside what users reach for otherwise, in the same run: `tar c | ssh 'tar x'` and `scp -r`
// against a throwaway sshd on loopback. Every copy is verified (files, bytes, contents), so a
// broken path cannot look fast.
//
// Alone: `node scripts/bench/files.mjs` (prints a summary per workload). BENCH_FILES_RUNS,
// BENCH_FILES_COUNT and BENCH_FILES_GIB shrink it for a quick trial, e.g.
// `BENCH_FILES_RUNS=1 BENCH_FILES_COUNT=500 BENCH_FILES_GIB=0.05 node scripts/bench/files.mjs`.
// BENCH_FILES_ONLY=small|large keeps one workload, BENCH_FILES_METHODS=scp,announced (a comma
// list of row names) keeps those methods: for trying one change against its baseline.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { secondsOf, summarize, tempDir } from './lib.mjs';
import { startSshd } from './sshd.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const DEFAULTS = {
  runs: Number(process.env.BENCH_FILES_RUNS ?? 3),
  /** Workload A: this many files of 1–64 KiB, 100 to a folder. */
  smallFiles: Number(process.env.BENCH_FILES_COUNT ?? 10_000),
  /** Workload B: one file this large. */
  largeBytes: Math.round(Number(process.env.BENCH_FILES_GIB ?? 1) * GiB),
  only: process.env.BENCH_FILES_ONLY,
  methods: process.env.BENCH_FILES_METHODS?.split(',').filter(Boolean),
};
const FILES_PER_FOLDER = 100;

/** The `clipsync` command as installed (package.json bin), as the end-to-end bench runs it. */
const CLI = fileURLToPath(new URL('../../bin/clipsync.cjs', import.meta.url));
const DIST_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CLI_ENV = { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' };
/** No timed command may hang the whole benchmark. */
const COMMAND_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * clipsync's two ways for a clip this large: `eager` moves the bytes during `copy --wait` (as
 * the other daemon benches run), `announced` keeps the default eagerLimitBytes (32 MiB), so the
 * peer only hears of the files and `paste --to` fetches them. maxClipBytes is raised from its
 * 512 MiB default in both, or the 1 GiB file would be refused.
 */
const CLIPSYNC_MODES = {
  eager: { eagerLimitBytes: 2 ** 40, maxClipBytes: 16 * GiB },
  announced: { maxClipBytes: 16 * GiB },
  // As announced, with daemons started without npm start's GLIBC_TUNABLES (a plain
  // `clipsync daemon`): what that setting buys, measured beside it.
  announcedPlainEnv: { maxClipBytes: 16 * GiB },
  // As announced, with the receiver opening large messages with libsodium, as before
  // OpenSSL took them over (secure/channel.ts): what that change buys.
  announcedSodiumOpen: { maxClipBytes: 16 * GiB },
};
/** How each mode's daemons are started, beyond its config (startDaemon's options). */
const MODE_DAEMONS = { announcedPlainEnv: { plainEnv: true }, announcedSodiumOpen: { env: { CLIPSYNC_OPEN_LARGE_WITH: 'libsodium' } } };

export async function benchFiles(options = {}) {
  const { runs, smallFiles, largeBytes, only, methods: keepMethods } = { ...DEFAULTS, ...options };
  const log = options.log ?? (() => undefined);
  const { dir, remove } = tempDir('cs-bench-files-');
  let ssh;
  try {
    log('writing the workloads');
    const workloads = [];
    if (only !== 'large') workloads.push(smallTree(join(dir, 'src-a', 'tree'), smallFiles, 1));
    if (only !== 'small') workloads.push(largeFile(join(dir, 'src-b', 'large.bin'), largeBytes, 2));
    ssh = await startSftpSshd(join(dir, 'ssh'));
    const clipsync = await clipsyncReady();
    const methods = [];
    if (ssh.missing === undefined) {
      methods.push(['tarSsh', (w, dst) => tarSsh(ssh, w, dst)], ['scp', (w, dst) => scp(ssh, w, dst, [])]);
      if (ssh.scp.legacyFlag) methods.push(['scpLegacy', (w, dst) => scp(ssh, w, dst, ['-O'])]);
    }
    if (clipsync.missing === undefined) {
      for (const mode of Object.keys(CLIPSYNC_MODES)) methods.push([mode, (w, dst) => clipsyncCopy(clipsync.daemons, mode, w, dst, join(dir, 'homes'))]);
    }
    if (keepMethods !== undefined) methods.splice(0, methods.length, ...methods.filter(([name]) => keepMethods.includes(name)));
    const samples = workloads.map(() => Object.fromEntries(methods.map(([name]) => [name, []])));
    // Interleaved rounds: each round runs every method on every workload once, so drifting
    // load hits them all alike.
    for (let round = 0; round < runs; round++) {
      for (const [w, workload] of workloads.entries()) {
        for (const [name, run] of methods) {
          const dst = join(dir, 'dst');
          mkdirSync(dst);
          try {
            execFileSync('sync'); // no run pays for the write-back of the one before
            const sample = await run(workload, dst);
            verify(join(dst, workload.name), workload, name);
            samples[w][name].push(sample);
            log(`round ${round + 1}/${runs}, ${workload.key}, ${name}: ${sample.seconds.toFixed(2)} s`);
          } finally {
            rmSync(dst, { recursive: true, force: true });
          }
        }
      }
    }
    return {
      runs,
      ssh: ssh.missing === undefined ? { version: ssh.version, scpProtocol: ssh.scp.protocol, legacyFlag: ssh.scp.legacyFlag } : { missing: ssh.missing },
      clipsync: clipsync.missing === undefined ? { nodeFlags: clipsync.daemons.DAEMON_NODE_FLAGS, modes: CLIPSYNC_MODES } : { missing: clipsync.missing },
      workloads: workloads.map((workload, w) => ({
        key: workload.key,
        files: workload.files,
        folders: workload.folders,
        bytes: workload.bytes,
        rows: Object.fromEntries(Object.entries(samples[w]).map(([name, list]) => [name, summarizeRow(list)])),
      })),
    };
  } finally {
    ssh?.stop?.();
    remove();
  }
}

/** Medians and minimums of a method's samples: whole seconds, and its parts where it has them. */
function summarizeRow(list) {
  const row = { seconds: summarize(list.map((s) => s.seconds)), samples: list.map((s) => s.seconds) };
  if (list[0]?.copy !== undefined) {
    row.copy = summarize(list.map((s) => s.copy));
    row.paste = summarize(list.map((s) => s.paste));
    row.pasteTo = summarize(list.map((s) => s.pasteTo));
    // Fresh daemons every run: the largest peak over the rounds is this workload's.
    row.peakRss = { sender: Math.max(...list.map((s) => s.rss.sender)), receiver: Math.max(...list.map((s) => s.rss.receiver)) };
  }
  return row;
}

// ---- Workloads ----------------------------------------------------------------------------

/**
 * Random bytes that are the same in every run for the same seed (an AES-128-CTR keystream),
 * so runs and machines compare; and not compressible, so no path gains by compressing.
 */
function seededBytes(seed) {
  const key = createHash('sha256').update(`clipsync files bench ${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return (zeros) => cipher.update(zeros);
}

/** A small seeded PRNG (mulberry32) for the file sizes. */
function seededInts(seed) {
  let state = seed >>> 0;
  return (min, max) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return min + Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * (max - min + 1));
  };
}

/** Workload A: `count` files of 1–64 KiB (uniform), in folders of 100 under `root`. */
function smallTree(root, count, seed) {
  const bytes = seededBytes(seed);
  const size = seededInts(seed);
  let total = 0;
  const folders = Math.ceil(count / FILES_PER_FOLDER);
  for (let i = 0; i < count; i++) {
    const folder = join(root, `d${String(Math.floor(i / FILES_PER_FOLDER)).padStart(3, '0')}`);
    if (i % FILES_PER_FOLDER === 0) mkdirSync(folder, { recursive: true });
    const length = size(1 * KiB, 64 * KiB);
    writeFileSync(join(folder, `f${String(i % FILES_PER_FOLDER).padStart(3, '0')}.bin`), bytes(Buffer.alloc(length)));
    total += length;
  }
  return describe('small', root, { files: count, folders, bytes: total });
}

/** Workload B: one file of `size` seeded random bytes, written in 4 MiB slices. */
function largeFile(path, size, seed) {
  mkdirSync(dirname(path), { recursive: true });
  const bytes = seededBytes(seed);
  const zeros = Buffer.alloc(4 * MiB);
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < size; written += zeros.length) {
      const slice = bytes(zeros);
      writeSync(fd, slice, 0, Math.min(slice.length, size - written));
    }
  } finally {
    closeSync(fd);
  }
  return describe('large', path, { files: 1, folders: 0, bytes: size });
}

/** A workload as every method gets it: one path, whose copy is `DST/<name>`, and its digest to check against. */
function describe(key, path, counts) {
  return { key, path, name: basename(path), ...counts, digest: digest(path) };
}

// ---- Verification -------------------------------------------------------------------------

/** Files, bytes and one hash over every relative path and content, in sorted order. */
function digest(path) {
  const hash = createHash('sha1');
  const buffer = Buffer.allocUnsafe(8 * MiB);
  let files = 0;
  let bytes = 0;
  const visit = (abs, rel) => {
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) visit(join(abs, name), `${rel}/${name}`);
      return;
    }
    hash.update(`${rel}\0`);
    const fd = openSync(abs, 'r');
    try {
      for (let n; (n = readSync(fd, buffer, 0, buffer.length)) > 0; ) {
        hash.update(buffer.subarray(0, n));
        bytes += n;
      }
    } finally {
      closeSync(fd);
    }
    files++;
  };
  visit(path, '.');
  return { files, bytes, hash: hash.digest('hex') };
}

function verify(copy, workload, method) {
  let got;
  try {
    got = digest(copy);
  } catch (err) {
    throw new Error(`${method} left no copy of ${workload.key} at ${copy}: ${err.message}`);
  }
  const want = workload.digest;
  if (got.files !== want.files || got.bytes !== want.bytes || got.hash !== want.hash) {
    throw new Error(`${method} copied ${workload.key} wrong: ${got.files} files, ${got.bytes} bytes, hash ${got.hash}; want ${want.files}, ${want.bytes}, ${want.hash}`);
  }
}

// ---- Baselines: OpenSSH -------------------------------------------------------------------

/**
 * An sshd on loopback for tar and scp. The shared helper's sshd has no sftp subsystem, which
 * scp uses by default since OpenSSH 9.0: so this runs a second one from the helper's config
 * and keys with `Subsystem sftp` added (the Debian default server), and stops the helper's.
 */
async function startSftpSshd(dir) {
  mkdirSync(dir);
  const helper = await startSshd(dir);
  if (helper.missing !== undefined) return helper;
  helper.stop();
  const port = helper.port + 1;
  const sftpServer = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'].find((p) => statSync(p, { throwIfNoEntry: false }));
  const config = join(dir, 'sshd_files_config');
  writeFileSync(config, `${readFileSync(helper.config, 'utf8').replace(/^Port .*$/m, `Port ${port}`)}Subsystem sftp ${sftpServer ?? 'internal-sftp'}\n`);
  const daemon = spawn(helper.sshd, ['-D', '-e', '-f', config], { stdio: 'ignore' });
  const base = ['-p', String(port), ...helper.base.slice(2)];
  await until(() => execFileSync('ssh', [...base, '127.0.0.1', 'true'], { stdio: 'ignore' }), () => daemon.kill());
  const version = spawnSync('ssh', ['-V']).stderr.toString().trim(); // ssh -V prints to stderr
  return { port, base, version, scp: scpProtocol(version), stop: () => daemon.kill() };
}

/** scp speaks SFTP by default from OpenSSH 9.0; from 8.7, `-O` picks the old SCP protocol. */
function scpProtocol(version) {
  const [, major, minor] = /OpenSSH_(\d+)\.(\d+)/.exec(version) ?? [, 0, 0];
  const v = Number(major) * 100 + Number(minor);
  return { protocol: v >= 900 ? 'SFTP' : 'SCP (legacy)', legacyFlag: v >= 807 };
}

const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;

/** `tar c | ssh 'tar x'`, from the start to the exit of both, the connection included. */
function tarSsh(ssh, workload, dst) {
  const remote = `tar x -C ${quote(dst)}`;
  const pipeline = `tar c -C ${quote(dirname(workload.path))} ${quote(workload.name)} | ssh ${ssh.base.map(quote).join(' ')} 127.0.0.1 ${quote(remote)}`;
  return { seconds: secondsOf(() => execFileSync('bash', ['-o', 'pipefail', '-c', pipeline], { stdio: ['ignore', 'ignore', 'inherit'], timeout: COMMAND_TIMEOUT_MS })) };
}

/** `scp -r` with the same key and options (scp takes the port as -P), start to exit. */
function scp(ssh, workload, dst, extra) {
  const args = ['-P', String(ssh.port), ...ssh.base.slice(2), ...extra, '-r', '-q', workload.path, `127.0.0.1:${dst}/`];
  return { seconds: secondsOf(() => execFileSync('scp', args, { stdio: ['ignore', 'ignore', 'inherit'], timeout: COMMAND_TIMEOUT_MS })) };
}

// ---- clipsync -----------------------------------------------------------------------------

/** The daemon helpers, once dist/ has a CLI with `copy --files` (loaded late: they import dist/). */
async function clipsyncReady() {
  let help = '';
  try {
    help = execFileSync(process.execPath, [DIST_CLI, 'copy', '--help'], { env: CLI_ENV, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    // no dist/ at all
  }
  if (!help.includes('--files')) return { missing: 'clipsync files: not built yet (dist/ has no `copy --files`; run `npm run build`)' };
  return { daemons: await import('./daemons.mjs') };
}

/**
 * One clipsync run on fresh daemons (a receiver already holding these bytes from an earlier
 * round could skip them): `copy --files PATH --wait` on A, then `paste --to DST` on B, timed
 * from the first spawn to the second exit, with both daemons' peak RSS.
 */
async function clipsyncCopy(daemons, mode, workload, dst, homesDir) {
  mkdirSync(homesDir);
  try {
    const pair = await startPair(daemons, homesDir, CLIPSYNC_MODES[mode], MODE_DAEMONS[mode] ?? {});
    try {
      // stderr is kept for the error a failed command throws (`copy --wait` reports there too).
      const run = (home, args) => () => execFileSync(process.execPath, [CLI, ...args, '--home', home], { env: CLI_ENV, stdio: ['ignore', 'ignore', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
      const copy = secondsOf(run(pair.homes.sender, ['copy', '--files', workload.path, '--wait']));
      // Pasteable: plain `paste` answers with the files' local paths once they are all here,
      // verified (fetching them first when only announced), which is when a file manager's
      // paste could start. Its answer names the copy the receiver holds; that is checked too.
      let pasted = '';
      const paste = secondsOf(() => {
        pasted = execFileSync(process.execPath, [CLI, 'paste', '--home', pair.homes.receiver], { env: CLI_ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS }).toString();
      });
      verify(pasted.trim(), workload, `${mode} (received)`);
      // Then written out where the user wants them: a copy on the receiver's own disk.
      const pasteTo = secondsOf(run(pair.homes.receiver, ['paste', '--to', dst]));
      return { seconds: copy + paste, copy, paste, pasteTo, rss: { sender: pair.sender.peakRss(), receiver: pair.receiver.peakRss() } };
    } finally {
      await pair.stop();
    }
  } finally {
    rmSync(homesDir, { recursive: true, force: true });
  }
}

/** Two daemons that trust each other on loopback TCP, as transfer.mjs's pair, with this config. */
async function startPair({ trustedHomes, startDaemon, DAEMON_NODE_FLAGS }, dir, config, environment) {
  const homes = trustedHomes(dir, config);
  const receiver = await startDaemon(homes.receiver, ['--listen', 'tcp://127.0.0.1:0'], DAEMON_NODE_FLAGS, environment);
  const sender = await startDaemon(homes.sender, ['--listen', `unix:${join(dir, 's.sock')}`, '--peer', receiver.listen[0]], DAEMON_NODE_FLAGS, environment);
  await sender.waitConnected();
  return { homes, sender, receiver, stop: () => Promise.all([sender.stop(), receiver.stop()]) };
}

/** Retries `attempt` (which throws until ready) every 100 ms for up to 5 s. */
async function until(attempt, giveUp) {
  for (let i = 0; ; i++) {
    try {
      return attempt();
    } catch (err) {
      if (i > 50) {
        giveUp();
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchFiles({ log: (line) => console.error(line) });
  if (result.ssh.missing !== undefined) console.log(`baselines not measured: ${result.ssh.missing}`);
  else console.log(`${result.ssh.version}; scp -r speaks ${result.ssh.scpProtocol}`);
  if (result.clipsync.missing !== undefined) console.log(result.clipsync.missing);
  for (const w of result.workloads) {
    console.log(`\n${w.key}: ${w.files} files, ${w.folders} folders, ${(w.bytes / MiB).toFixed(1)} MiB, ${result.runs} rounds`);
    for (const [name, row] of Object.entries(w.rows)) {
      const parts = row.copy === undefined ? '' : `  (copy ${row.copy.median.toFixed(2)} s + paste ${row.paste.median.toFixed(2)} s; then paste --to ${row.pasteTo.median.toFixed(2)} s; peak RSS ${(row.peakRss.sender / MiB).toFixed(0)} / ${(row.peakRss.receiver / MiB).toFixed(0)} MiB)`;
      console.log(`  ${name.padEnd(10)} median ${row.seconds.median.toFixed(2)} s  min ${row.seconds.min.toFixed(2)} s  ${(w.bytes / row.seconds.median / 1e6).toFixed(0)} MB/s${parts}`);
    }
  }
}
