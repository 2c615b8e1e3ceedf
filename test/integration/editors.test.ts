import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../helpers/cli.js';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const CONTRIB = fileURLToPath(new URL('../../contrib/', import.meta.url));

/**
 * The README's editor and terminal recipes, exactly as shipped in contrib/, with a `clipsync`
 * on PATH as `npm link` would put it: Neovim's + register and tmux's copy mode through one
 * daemon, seen on the other.
 */
describe('editor and terminal recipes', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = makeTempDir();
    ({ a, b } = await startTrustedPair(dir));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'clipsync'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_ENTRY)} "$@"\n`);
    chmodSync(join(bin, 'clipsync'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, CLIPSYNC_HOME: a.home, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  const pasteOn = async (daemon: TestDaemon): Promise<string> => (await daemon.cli(['paste'])).text;

  it('Neovim: a yank into + reaches the other machine, and its copy is put with "+p', async () => {
    if (skipUnlessTools({ nvim: 'neovim' })) return;
    const nvim = (...commands: string[]): Promise<unknown> =>
      run('nvim', ['--headless', '-n', '-i', 'NONE', '-u', join(CONTRIB, 'nvim/clipsync.vim'), ...commands.flatMap((c) => ['-c', c]), '-c', 'qa!'], { env, timeout: 60_000 });
    await nvim('call setline(1, "yanked in neovim")', 'normal! "+yy');
    await waitFor(async () => (await pasteOn(b)) === 'yanked in neovim\n', { what: 'the yank on beta' });

    await b.cliOk(['copy', '--wait'], { input: 'copied on beta' });
    const out = join(dir, 'put.txt');
    await nvim('normal! "+P', `write! ${out}`);
    expect(readFileSync(out, 'utf8')).toBe('copied on beta\n');
  });

  it('tmux: a copy-mode selection reaches the other machine, and prefix C-v pastes the clip', async () => {
    if (skipUnlessTools({ tmux: 'tmux' })) return;
    const socket = join(dir, 'tmux.sock');
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { env, encoding: 'utf8' });
    tmux('-f', join(CONTRIB, 'tmux/clipsync.conf'), 'new-session', '-d', '-s', 't', '-x', '80', '-y', '12', "printf 'a line from tmux\\n'; exec cat");
    try {
      await waitFor(async () => tmux('capture-pane', '-p', '-t', 't').includes('a line from tmux'), { what: 'the pane' });
      tmux('copy-mode', '-t', 't');
      tmux('send-keys', '-t', 't', '-X', 'search-backward', 'a line from tmux');
      tmux('send-keys', '-t', 't', '-X', 'select-line');
      tmux('send-keys', '-t', 't', '-X', 'copy-pipe-and-cancel');
      await waitFor(async () => (await pasteOn(b)).startsWith('a line from tmux'), { what: 'the tmux copy on beta' });

      await b.cliOk(['copy', '--wait'], { input: 'pasted by tmux' });
      // send-keys goes to the pane, not through key bindings (that needs an attached client):
      // run the command prefix C-v is bound to, as tmux would.
      const bound = /^bind-key -T prefix C-v run-shell -b "(.*)"$/m.exec(tmux('list-keys', '-T', 'prefix', 'C-v'));
      expect(bound).not.toBeNull();
      tmux('run-shell', '-t', 't', bound![1]!.replaceAll('\\"', '"'));
      await waitFor(async () => tmux('capture-pane', '-p', '-t', 't').includes('pasted by tmux'), { what: 'the clip pasted into the pane' });
    } finally {
      tmux('kill-server');
    }
  });
});
