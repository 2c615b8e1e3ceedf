import { resolvePaths, type Paths } from '../core/config/paths.js';
import { IpcClient } from '../ipc/client.js';

/** Options every command takes. */
export interface GlobalArgs {
  home?: string;
  json?: boolean;
}

export function pathsFrom(args: GlobalArgs): Paths {
  return resolvePaths(args.home);
}

export function clientFrom(args: GlobalArgs): IpcClient {
  return new IpcClient(pathsFrom(args).socketPath, startCommand(args));
}

/** The command that starts the daemon this client talks to: the same `--home` as the one given. */
function startCommand(args: GlobalArgs): string {
  if (args.home === undefined) return 'clipsync daemon';
  return `clipsync --home ${shellWord(args.home)} daemon`;
}

/** A word the shell reads back as itself: bare when it is plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
