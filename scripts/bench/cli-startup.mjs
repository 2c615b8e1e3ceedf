// CLI start-up where editors and status bars feel it: `paste` and `status` against a running
// daemon beside `node -e 0`, and a 1 KiB `copy --wait` until the connected peer can paste it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonPair } from './transfer.mjs';
import { secondsOf, summarize, tempDir } from './lib.mjs';

/** The `clipsync` command as installed (package.json bin). */
const CLI = fileURLToPath(new URL('../../bin/clipsync.cjs', import.meta.url));
/** The ES module entry the command was before (baseline row): what the CommonJS launcher saves. */
const ESM_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 30);
const COPIES = Number(process.env.BENCH_CLI_COPIES ?? 60);

const ms = (run) => secondsOf(run) * 1000;

export async function benchCliStartup() {
  const { dir, remove } = tempDir();
  try {
    const pair = await daemonPair(dir, 'tcp');
    try {
      const env = { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' };
      const home = pair.homes.sender;
      const run = (args) => () => execFileSync(process.execPath, [CLI, ...args, '--home', home], { env, stdio: 'ignore' });
      const file = join(dir, 'yank.txt');
      writeFileSync(file, 'x'.repeat(1024));
      run(['copy', file])(); // something to paste
      const samples = { node: [], paste: [], status: [], pasteEsm: [] };
      for (let i = 0; i < 3; i++) run(['status'])(); // warm the file cache
      // Interleaved, so load that drifts during the run hits every row alike.
      for (let round = 0; round < ROUNDS; round++) {
        samples.node.push(ms(() => execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore' })));
        samples.paste.push(ms(run(['paste'])));
        samples.status.push(ms(run(['status'])));
        samples.pasteEsm.push(ms(() => execFileSync(process.execPath, [ESM_CLI, 'paste', '--home', home], { env, stdio: 'ignore' })));
      }
      // 1 KiB copies, each new, until the peer acknowledged it applied (it can paste it then).
      const copies = [];
      for (let i = 0; i < COPIES; i++) {
        writeFileSync(file, `${String(i).padStart(8, '0')}${'y'.repeat(1016)}`);
        copies.push(ms(run(['copy', file, '--wait'])));
      }
      return { rounds: ROUNDS, node: summarize(samples.node), paste: summarize(samples.paste), status: summarize(samples.status), pasteEsm: summarize(samples.pasteEsm), copy: summarize(copies), copies: COPIES };
    } finally {
      await pair.stop();
    }
  } finally {
    remove();
  }
}
