// What a user waits for when moving a file: `clipsync copy FILE --wait` from the process
// start to its exit, the peer then holding the verified clip, beside the stdin form and beside
// OpenSSH (`ssh host 'cat > FILE' < FILE`), all in the same run on this machine.
import { execFileSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonPair, randomFile } from './transfer.mjs';
import { SSH_CIPHERS, startSshd } from './sshd.mjs';
import { secondsOf, summarize, tempDir } from './lib.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_E2E_MIB ?? 256) * MiB;
const RUNS = Number(process.env.BENCH_E2E_RUNS ?? 3);
/** The `clipsync` command as installed (package.json bin). */
const CLI = fileURLToPath(new URL('../../bin/clipsync.cjs', import.meta.url));

export async function benchEndToEnd() {
  const { dir, remove } = tempDir();
  try {
    const pair = await daemonPair(dir, 'tcp');
    const ssh = await startSshd(dir);
    try {
      const env = { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' };
      const times = { path: [], stdin: [], nodeStart: [] };
      const sshTimes = Object.fromEntries(SSH_CIPHERS.map(([label]) => [label, { total: [], connect: [] }]));
      // Rounds interleave every mode, each with a new file (the same bytes again would be a no-op).
      for (let run = 0; run < RUNS; run++) {
        const byPath = randomFile(join(dir, `path-${run}.bin`), SIZE, 1000 + run);
        times.path.push(secondsOf(() => execFileSync(process.execPath, [CLI, 'copy', byPath, '--wait', '--home', pair.homes.sender], { env, stdio: 'ignore' })));
        // Node's own start and exit, in the same rounds: what clipsync's figure carries and
        // OpenSSH's connect-excluded figure does not (ssh's own process start is excluded there).
        times.nodeStart.push(secondsOf(() => execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore' })));
        const byStdin = randomFile(join(dir, `stdin-${run}.bin`), SIZE, 2000 + run);
        times.stdin.push(secondsOf(() => execFileSync(process.execPath, [CLI, 'copy', '--wait', '--home', pair.homes.sender], { env, stdio: [openSync(byStdin, 'r'), 'ignore', 'ignore'] })));
        if (ssh.missing !== undefined) continue;
        for (const [label, args] of SSH_CIPHERS) {
          const target = join(dir, 'ssh-received.bin');
          sshTimes[label].total.push(secondsOf(() => execFileSync('ssh', [...ssh.base, ...args, '127.0.0.1', `cat > '${target}'`], { stdio: [openSync(byPath, 'r'), 'ignore', 'inherit'] })));
          sshTimes[label].connect.push(secondsOf(() => execFileSync('ssh', [...ssh.base, ...args, '127.0.0.1', 'true'], { stdio: 'ignore' })));
        }
      }
      const rate = (samples) => SIZE / summarize(samples).median;
      const nodeStart = summarize(times.nodeStart).median;
      const result = {
        size: SIZE,
        runs: RUNS,
        path: rate(times.path),
        stdin: rate(times.stdin),
        pathSeconds: summarize(times.path),
        nodeStart,
        pathWithoutNodeStart: SIZE / Math.max(1e-6, summarize(times.path).median - nodeStart),
        ssh: undefined,
        sshMissing: ssh.missing,
      };
      if (ssh.missing === undefined) {
        result.ssh = Object.fromEntries(
          Object.entries(sshTimes).map(([label, t]) => {
            const total = summarize(t.total).median;
            const connect = summarize(t.connect).median;
            return [label, { withConnect: SIZE / total, withoutConnect: SIZE / Math.max(1e-6, total - connect), connect }];
          }),
        );
      }
      return result;
    } finally {
      ssh.stop?.();
      await pair.stop();
    }
  } finally {
    remove();
  }
}
