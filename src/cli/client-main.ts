import { ExitCode } from '../core/errors.js';
import { parseFastCommand } from './fast-path.js';
import { reportError } from './output.js';

/**
 * The client commands in their plain forms (`copy`, `paste`, `status`, `peers`, `transfers`,
 * `stop`), without yargs or any other command: the exit code, or undefined when `argv` is
 * something else, for the full command line to handle.
 *
 * Besides the ESM build, this and what it imports are also compiled to CommonJS
 * (tsconfig.client.json, into dist/client/), which bin/clipsync.cjs runs: Node's ES module
 * loader costs each process about 8 ms to start, the largest single part of a `paste`
 * after Node itself. So nothing here may use import.meta or top-level await.
 */
export async function runClientCommand(argv: string[]): Promise<number | undefined> {
  const fast = parseFastCommand(argv);
  if (fast === undefined) return undefined;
  try {
    if (fast.command === 'paste') await (await import('./commands/clip-commands.js')).paste(fast.args);
    else if (fast.command === 'copy') await (await import('./commands/clip-commands.js')).copy(fast.args);
    else if (fast.command === 'status') await (await import('./commands/status-commands.js')).status(fast.args);
    else if (fast.command === 'peers') await (await import('./commands/status-commands.js')).peers(fast.args);
    else if (fast.command === 'transfers') await (await import('./commands/status-commands.js')).transfers(fast.args);
    else await (await import('./commands/stop-command.js')).stop(fast.args);
    return ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}
