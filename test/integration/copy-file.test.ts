import { spawn } from 'node:child_process';
import { chownSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { startTrustedPair, type TestDaemon } from '../helpers/daemon.js';
import { randomClipFile, sha256 } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/**
 * `clipsync copy FILE` hands the daemon the file's path: the daemon reads it at disk speed,
 * and refuses a file that changes under it. Two real daemons; the peer must hold the clip.
 */
describe('copy FILE by path', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    ({ a, b } = await startTrustedPair(dir, { configA: { spoolThresholdBytes: MiB }, configB: { spoolThresholdBytes: MiB } }));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it.each([
    ['a file with spaces in its name', 'with spaces in it.bin', 3 * MiB + 17],
    ['an empty file', 'empty', 0],
    ['a small file', 'small.bin', 100],
  ])('delivers %s byte for byte', async (_what, name, size) => {
    const clip = randomClipFile(dir, name, size);
    const copied = await b.cliOk(['copy', clip.path, '--wait', '--json']);
    const result = JSON.parse(copied.text) as { size: number; peers: { status: string }[] };
    expect(result.size).toBe(size);
    expect(result.peers.map((p) => p.status)).toEqual(['delivered']);
    expect(sha256((await a.cliOk(['paste'])).stdout)).toBe(clip.sha256);
  });

  it('keeps the clip when the file is removed or replaced as soon as the command returns', async () => {
    // With --wait the answer comes once the peer has the clip, before the daemon's own copy is
    // made; the daemon holds the file open, so neither a remove nor a replace reaches the clip.
    const removed = randomClipFile(dir, 'removed.bin', 5 * MiB + 3);
    await b.cliOk(['copy', removed.path, '--wait']);
    rmSync(removed.path);
    expect(sha256((await b.cliOk(['paste'])).stdout)).toBe(removed.sha256);
    expect(sha256((await a.cliOk(['paste'])).stdout)).toBe(removed.sha256);
    const replaced = randomClipFile(dir, 'replaced.bin', 4 * MiB + 1);
    await b.cliOk(['copy', replaced.path, '--wait']);
    writeFileSync(`${replaced.path}.new`, 'the next version');
    renameSync(`${replaced.path}.new`, replaced.path); // how editors save
    expect(sha256((await b.cliOk(['paste'])).stdout)).toBe(replaced.sha256);
  });

  it('refuses a file that is being appended to, with its path, and keeps the current clip', async () => {
    const before = sha256((await a.cliOk(['paste'])).stdout);
    const path = join(dir, 'growing.log');
    writeFileSync(path, Buffer.alloc(32 * MiB, 0x61));
    // A writer that appends while the copy runs (as a log being written does).
    const writer = spawn('sh', ['-c', `while :; do printf 'line\\n' >> '${path}'; done`], { stdio: 'ignore' });
    try {
      const grew = statSync(path).size;
      await waitFor(async () => statSync(path).size > grew, { what: 'the writer appending' });
      const result = await runCli(['copy', path, '--wait', '--home', b.home]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${path} changed while it was being copied; nothing was copied`);
      expect(result.stderr).toMatch(/hint: copy it again once nothing is writing to it/);
    } finally {
      writer.kill();
    }
    // Nothing of it was made current or sent.
    expect(sha256((await a.cliOk(['paste'])).stdout)).toBe(before);
    expect(sha256((await b.cliOk(['paste'])).stdout)).toBe(before);
  });

  it('fails with the path in the message when the user cannot read the file', async () => {
    if (process.getuid?.() !== 0) {
      // As an ordinary user: a file only root can read.
      const result = await runCli(['copy', '/etc/shadow', '--home', b.home]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('cannot read /etc/shadow (EACCES: permission denied)');
      return;
    }
    // As root (CI) every mode bit is readable, so the CLI runs as root without the two
    // capabilities that let root read past permissions (setpriv, util-linux), on a 0600 file
    // another user owns: exactly what a user who is not its owner meets. The CLI's own files
    // stay readable (root owns them), wherever the repository was cloned.
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'not yours', { mode: 0o600 });
    chownSync(secret, 65534, 65534);
    const drop = '-dac_override,-dac_read_search';
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('setpriv', [`--inh-caps=${drop}`, `--bounding-set=${drop}`, process.execPath, CLI_ENTRY, 'copy', secret, '--home', b.home], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot read ${secret} (EACCES: permission denied)`);
    expect(result.stderr).toMatch(/hint: check the path and that you can read the file/);
  });
});
