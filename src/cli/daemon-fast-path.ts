import { CLIPBOARD_CHOICES, type ClipboardChoice } from '../core/config/config.js';
import { LOG_FORMATS, type LogFormat } from '../core/log-format.js';

/**
 * `clipsync daemon` in its plain forms, parsed without yargs. Not for start-up time but for
 * the daemon's whole life: modules once loaded stay in memory, and yargs with every command
 * module was about 5 MiB of an idle daemon's resident memory (docs/BENCHMARKS.md, idle).
 * As with the client commands' fast path, anything else (help, a typo, `--opt=value`, a value
 * yargs would reject or read differently) returns undefined and goes through yargs, so help
 * and errors stay exactly as they are.
 */
export interface DaemonCommandArgs {
  home?: string;
  json?: boolean;
  listen?: string[];
  peer?: string[];
  mdns?: boolean;
  'mdns-interface'?: string[];
  clipboard?: ClipboardChoice;
  'log-format'?: LogFormat;
}

const REPEATABLE = ['listen', 'peer', 'mdns-interface'] as const;

export function parseDaemonCommand(argv: readonly string[]): DaemonCommandArgs | undefined {
  const [command, ...rest] = argv;
  if (command !== 'daemon') return undefined;
  const args: DaemonCommandArgs = {};
  const seen = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('--') || token.includes('=')) return undefined;
    const name = token.slice(2);
    const repeatable = (REPEATABLE as readonly string[]).includes(name);
    const option = name === 'no-mdns' ? 'mdns' : name;
    if (seen.has(option) && !repeatable) return undefined; // repeated: yargs decides what that means
    seen.add(option);
    if (name === 'json') args.json = true;
    else if (name === 'mdns' || name === 'no-mdns') args.mdns = name === 'mdns';
    else if (name === 'home' || name === 'clipboard' || name === 'log-format' || repeatable) {
      const value = rest[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      // yargs reads an array option greedily (`--peer a b`): such forms are left to it.
      if (repeatable && rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('-')) return undefined;
      if (name === 'home') args.home = value;
      else if (name === 'log-format') {
        if (!(LOG_FORMATS as readonly string[]).includes(value)) return undefined; // yargs lists the choices
        args['log-format'] = value as LogFormat;
      }
      else if (name === 'clipboard') {
        if (!(CLIPBOARD_CHOICES as readonly string[]).includes(value)) return undefined; // yargs lists the choices
        args.clipboard = value as ClipboardChoice;
      } else {
        const key = name as (typeof REPEATABLE)[number];
        args[key] = [...(args[key] ?? []), value];
      }
    } else return undefined;
  }
  return args;
}
