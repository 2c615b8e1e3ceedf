import type { Argv } from 'yargs';
import { defaultConfig } from '../../core/config/config.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { pathsFrom, type GlobalArgs } from '../context.js';

/** `clipsync completion bash|zsh|fish`: a completion script, to source or install. */
export function completionCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'completion <shell>',
    'Print a shell completion script: eval "$(clipsync completion bash)"',
    (y) => y.positional('shell', { type: 'string', choices: SHELLS, demandOption: true, describe: 'bash, zsh or fish' }),
    (args) => {
      const keys = configKeys(defaultConfig(pathsFrom(args)) as unknown as Record<string, unknown>);
      process.stdout.write(completionScript(args.shell as Shell, keys));
    },
  );
}

/** The keys `config get|set` take: the top-level ones and, for objects with fixed keys, `key.sub`. */
function configKeys(defaults: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const [key, value] of Object.entries(defaults)) {
    keys.push(key);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) for (const sub of Object.keys(value)) keys.push(`${key}.${sub}`);
  }
  return keys;
}
