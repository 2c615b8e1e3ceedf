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
  return new IpcClient(pathsFrom(args).socketPath);
}
