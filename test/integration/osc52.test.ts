import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { osc52Sequence } from '../../src/cli/osc52.js';
import { CLI_ENTRY } from '../helpers/cli.js';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { join } from 'node:path';

/** Runs `clipsync ARGS` on a pseudo-terminal (util-linux `script`), as a user at a terminal would; returns what the terminal received. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; bytes: Buffer }> {
  const command = [process.execPath, CLI_ENTRY, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, bytes: Buffer.concat(out) }));
  });
}

describe('paste --osc52', () => {
  let dir: string;
  let daemon: TestDaemon;
  const skip = skipUnlessTools({ script: 'util-linux' });

  beforeAll(async () => {
    if (skip) return;
    dir = makeTempDir();
    await initHome(join(dir, 'home'), 'remote-box');
    daemon = await TestDaemon.start({ home: join(dir, 'home') });
  });

  afterAll(async () => {
    await daemon?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  it('writes the text as one OSC 52 sequence to the terminal, byte for byte, and wraps it for tmux', async () => {
    if (skip) return;
    const text = 'héllo\nfrom the box ✓';
    await daemon.cliOk(['copy'], { input: text });
    const plain = await onTerminal(['--home', daemon.home, 'paste', '--osc52'], { TMUX: '' });
    expect(plain.code).toBe(0);
    expect(plain.bytes.toString('latin1')).toBe(`\x1b]52;c;${Buffer.from(text).toString('base64')}\x07`);

    const inTmux = await onTerminal(['--home', daemon.home, 'paste', '--osc52'], { TMUX: '/tmp/tmux-0/default,1,0' });
    expect(inTmux.bytes.toString('latin1')).toBe(`\x1bPtmux;\x1b\x1b]52;c;${Buffer.from(text).toString('base64')}\x07\x1b\\`);
    expect(osc52Sequence(Buffer.from(text), { TMUX: 'x' })).toBe(inTmux.bytes.toString('latin1'));
  });

  it('refuses a clip without text (exit 4) and one too long for terminals (exit 1), writing nothing', async () => {
    if (skip) return;
    await daemon.cliOk(['copy', '--mime', 'image/png'], { input: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
    const image = await daemon.cli(['paste', '--osc52']);
    expect(image.code).toBe(4);
    expect(image.stderr).toMatch(/no text to send to the terminal \(its formats: image\/png\)/);
    expect(image.stdout.length).toBe(0);

    await daemon.cliOk(['copy'], { input: 'a'.repeat(80_000) });
    const long = await daemon.cli(['paste', '--osc52']);
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/80000 bytes; an OSC 52 sequence carries at most 74994 bytes/);
    expect(long.stdout.length).toBe(0);
  });
});
