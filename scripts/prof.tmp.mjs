import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { daemonPair, randomFile } from './bench/transfer.mjs';
import { DAEMON_NODE_FLAGS } from './bench/daemons.mjs';
import { tempDir } from './bench/lib.mjs';
const { dir, remove } = tempDir();
const pair = await daemonPair(dir, 'tcp', [...DAEMON_NODE_FLAGS, '--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--cpu-prof-interval=200']);
for (let i = 0; i < 4; i++) {
  const f = randomFile(join(dir, `f${i}.bin`), 256 << 20, i + 7);
  const t = process.hrtime.bigint();
  execFileSync(process.execPath, ['/work/main/bin/clipsync.cjs', 'copy', f, '--wait', '--home', pair.homes.sender], { stdio: 'ignore' });
  console.log(Number(process.hrtime.bigint() - t) / 1e9);
}
await pair.stop(); remove();
