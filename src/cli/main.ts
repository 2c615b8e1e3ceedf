#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { clipCommands } from './commands/clip-commands.js';
import { daemonCommand } from './commands/daemon-command.js';
import { identityCommands } from './commands/identity-commands.js';
import { pairCommand } from './commands/pair-command.js';
import { statusCommands } from './commands/status-commands.js';
import { stopCommand } from './commands/stop-command.js';
import { trustCommands } from './commands/trust-commands.js';
import type { GlobalArgs } from './context.js';
import { reportError, usageError } from './output.js';

/** Thrown from yargs' fail hook so usage problems leave through the same exit path. */
class UsageProblem extends Error {}

async function main(argv: string[]): Promise<number> {
  let cli = yargs(argv)
    .scriptName('clipsync')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command; see `clipsync --help`')
    .option('home', { type: 'string', global: true, describe: 'Keep all state under this directory (env CLIPSYNC_HOME)' })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'Machine-readable output' })
    .fail((message, err) => {
      if (err !== undefined && err !== null) throw err;
      throw new UsageProblem(message);
    })
    .help()
    .alias('help', 'h') as unknown as import('yargs').Argv<GlobalArgs>;
  cli = identityCommands(cli);
  cli = trustCommands(cli);
  cli = pairCommand(cli);
  cli = daemonCommand(cli);
  cli = statusCommands(cli);
  cli = clipCommands(cli);
  cli = stopCommand(cli);
  try {
    await cli.parseAsync();
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof UsageProblem) return reportError(usageError(err.message));
    return reportError(err);
  }
}

// A reader that went away (`clipsync id | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
  throw err;
});

const code = await main(hideBin(process.argv));
// Let stdout drain (a paste into a pipe) before leaving with the status.
process.exitCode = code;
