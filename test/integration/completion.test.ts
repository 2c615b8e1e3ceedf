import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/completion.js';
import { runCliOk } from '../helpers/cli.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

describe('clipsync completion', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  async function script(shell: string): Promise<string> {
    const file = join(dir, `clipsync.${shell}`);
    writeFileSync(file, (await runCliOk(['completion', shell])).text);
    return file;
  }

  it('knows every command that --help lists', async () => {
    const help = (await runCliOk(['--help'])).text;
    const listed = [...help.matchAll(/^ {2}clipsync (\w+)/gm)].map((m) => m[1]);
    expect(listed.length).toBeGreaterThan(10);
    expect(COMMANDS.map((c) => c.name).sort()).toEqual([...new Set(listed)].sort());
  });

  it('bash: completes commands, flags, flag values, subcommands and config keys', async () => {
    if (skipUnlessTools({ bash: 'bash' })) return;
    const file = await script('bash');
    const complete = (...words: string[]): string[] => {
      const shell = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _clipsync; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['--norc', '--noprofile', '-c', shell], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
    };
    expect(execFileSync('bash', ['--norc', '-c', `source ${JSON.stringify(file)}; complete -p clipsync`], { encoding: 'utf8' })).toMatch(/-F _clipsync clipsync/);
    expect(complete('clipsync', 'co')).toEqual(['copy', 'config', 'completion']);
    expect(complete('clipsync', 'copy', '--')).toEqual(expect.arrayContaining(['--mime', '--wait', '--timeout', '--home', '--json']));
    expect(complete('clipsync', 'daemon', '--clipboard', '')).toEqual(['auto', 'system', 'memory', 'x11', 'wayland', 'macos', 'text']);
    expect(complete('clipsync', '--home', '/tmp', 'config', 'get', 'hist')).toEqual(['history', 'history.size', 'history.persist']);
    expect(complete('clipsync', 'service', '')).toEqual(['install', 'uninstall', 'status']);
  });

  it('fish: completes commands and flag values', async () => {
    if (skipUnlessTools({ fish: 'fish' })) return;
    const file = await script('fish');
    const complete = (line: string): string[] =>
      execFileSync('fish', ['--no-config', '-c', `source ${JSON.stringify(file)}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.split('\t')[0]!)
        .filter((l) => l !== '');
    expect(complete('clipsync co')).toEqual(['completion', 'config', 'copy']);
    expect(complete('clipsync status --format ')).toEqual(['i3blocks', 'waybar', 'xbar']);
    expect(complete('clipsync history ')).toEqual(['clear', 'get']);
  });

  it('zsh: registers the completion function', async () => {
    if (skipUnlessTools({ zsh: 'zsh' })) return;
    const file = await script('zsh');
    const out = execFileSync('zsh', ['-fc', `autoload -U compinit && compinit -u -d ${JSON.stringify(join(dir, 'zcompdump'))}; source ${JSON.stringify(file)}; print \${+functions[_clipsync]} $_comps[clipsync]`], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^1 _bash_complete -o default -F _clipsync$/);
  });
});
