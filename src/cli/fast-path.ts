/**
 * The client commands editors, scripts and status bars run all the time (`copy`, `paste`,
 * `status`, `peers`, `transfers`, `stop`; and `copy --files`, `paste --to`, whose wait the
 * user feels as much),
 * parsed without yargs: loading yargs and every command module costs more than the rest of
 * such a run. Only the plain forms are taken here; anything else (help, a typo, an unknown or
 * repeated option, `--opt=value` forms yargs treats specially) returns undefined and goes
 * through yargs, so help and errors stay exactly as they are.
 */
export type FastCommand =
  | { command: 'paste'; args: { home?: string; json?: boolean; mime?: string; list?: boolean; osc52?: boolean; to?: string } }
  | { command: 'status'; args: { home?: string; json?: boolean; watch?: boolean; format?: string } }
  | { command: 'copy'; args: { home?: string; json?: boolean; mime?: string; wait?: boolean; timeout?: number; file?: string; files?: string[] } }
  | { command: 'peers' | 'stop'; args: { home?: string; json?: boolean } }
  | { command: 'transfers'; args: { home?: string; json?: boolean; watch?: boolean } };

const VALUE_OPTIONS: Record<FastCommand['command'], readonly string[]> = {
  paste: ['home', 'mime', 'to'],
  status: ['home', 'format'],
  copy: ['home', 'mime', 'timeout'],
  peers: ['home'],
  transfers: ['home'],
  stop: ['home'],
};
const FLAG_OPTIONS: Record<FastCommand['command'], readonly string[]> = {
  paste: ['json', 'list', 'osc52'],
  status: ['json', 'watch'],
  copy: ['json', 'wait'],
  peers: ['json'],
  transfers: ['json', 'watch'],
  stop: ['json'],
};

function isFastCommand(command: string | undefined): command is FastCommand['command'] {
  return command !== undefined && Object.hasOwn(VALUE_OPTIONS, command);
}

export function parseFastCommand(argv: readonly string[]): FastCommand | undefined {
  const [command, ...rest] = argv;
  if (!isFastCommand(command)) return undefined;
  const args: Record<string, string | boolean | number | string[]> = {};
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    // copy --files PATH…: every word up to the next option, as yargs takes an array option
    if (command === 'copy' && token === '--files') {
      if ('files' in args) return undefined;
      const paths: string[] = [];
      while (i + 1 < rest.length && !rest[i + 1]!.startsWith('-')) paths.push(rest[++i]!);
      if (paths.length === 0) return undefined; // yargs says what is missing
      args['files'] = paths;
      continue;
    }
    // copy's one positional, FILE (`-` is standard input, as yargs has it)
    if (command === 'copy' && (token === '-' || !token.startsWith('-')) && !('file' in args)) {
      args['file'] = token;
      continue;
    }
    if (!token.startsWith('--') || token.includes('=')) return undefined;
    const name = token.slice(2);
    if (name in args) return undefined; // repeated: yargs decides what that means
    if (FLAG_OPTIONS[command].includes(name)) args[name] = true;
    else if (VALUE_OPTIONS[command].includes(name)) {
      const value = rest[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      if (name === 'timeout') {
        if (!/^\d+(\.\d+)?$/.test(value)) return undefined; // yargs says what is wrong with it
        args[name] = Number(value);
      } else args[name] = value;
    } else return undefined;
  }
  return { command, args } as FastCommand;
}
