#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../core/errors.js';
import type { GlobalArgs } from './context.js';
import { runClientCommand } from './client-main.js';
import { reportError, usageError } from './output.js';

/** Thrown from yargs' fail hook so usage problems leave through the same exit path. */
class UsageProblem extends Error {}

/** The plain forms of the client commands and of `daemon`, without loading yargs or any other command. */
async function fastMain(argv: string[]): Promise<number | undefined> {
  if (argv[0] === 'daemon') return daemonMain(argv);
  return runClientCommand(argv);
}

/** `daemon` in its plain forms, without yargs: what a daemon loads stays in its memory for good. */
async function daemonMain(argv: string[]): Promise<number | undefined> {
  const [{ parseDaemonCommand }, { runDaemonCommand }] = await Promise.all([import('./daemon-fast-path.js'), import('./commands/daemon-command.js')]);
  const args = parseDaemonCommand(argv);
  if (args === undefined) return undefined;
  try {
    await runDaemonCommand(args);
    return ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}

async function main(argv: string[]): Promise<number> {
  const fast = await fastMain(argv);
  if (fast !== undefined) return fast;
  // Everything else: the full command line, loaded only now.
  const [{ default: yargs }, { VERSION }, clip, daemon, identity, pair, statusCmds, stop, trust, history, pause, config, service, completion, trayCmd] = await Promise.all([
    import('yargs'),
    import('../core/version.js'),
    import('./commands/clip-commands.js'),
    import('./commands/daemon-command.js'),
    import('./commands/identity-commands.js'),
    import('./commands/pair-command.js'),
    import('./commands/status-commands.js'),
    import('./commands/stop-command.js'),
    import('./commands/trust-commands.js'),
    import('./commands/history-command.js'),
    import('./commands/pause-commands.js'),
    import('./commands/config-command.js'),
    import('./commands/service-command.js'),
    import('./commands/completion-command.js'),
    import('./commands/tray-command.js'),
  ]);
  let cli = yargs(argv)
    .scriptName('clipsync')
    .usage('clipsync: copy on one machine, paste on your others; peer to peer, trusted by SSH keys.\n\nUsage: $0 <command> [options]')
    .example('$0 daemon', 'run the daemon here (or once: clipsync service install)')
    .example('$0 id', "print this machine's key, to trust on the other")
    .example('$0 trust laptop.pub', 'trust another machine (or: clipsync pair)')
    .example('echo hi | $0 copy --wait', 'copy, and wait until every peer has it')
    .example('$0 paste', 'print the clip')
    .example('$0 status', 'what the daemon is doing; peers, history, pause for more')
    .epilog(`Every command, config.json and the exit codes: ${fileURLToPath(new URL('../../README.md', import.meta.url))}`)
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (for example: clipsync status)')
    .option('home', { type: 'string', global: true, describe: 'Keep all state under this directory (env CLIPSYNC_HOME)' })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'Machine-readable output' })
    .fail((message, err) => {
      if (err !== undefined && err !== null) throw err;
      throw new UsageProblem(message);
    })
    .help()
    .alias('help', 'h') as unknown as import('yargs').Argv<GlobalArgs>;
  cli = identity.identityCommands(cli);
  cli = trust.trustCommands(cli);
  cli = pair.pairCommand(cli);
  cli = daemon.daemonCommand(cli);
  cli = statusCmds.statusCommands(cli);
  cli = clip.clipCommands(cli);
  cli = stop.stopCommand(cli);
  cli = history.historyCommand(cli);
  cli = pause.pauseCommands(cli);
  cli = config.configCommand(cli);
  cli = service.serviceCommand(cli);
  cli = completion.completionCommand(cli);
  cli = trayCmd.trayCommand(cli);
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

// What yargs' hideBin does: drop `node` and the script path.
const code = await main(process.argv.slice(2));
// Let stdout drain (a paste into a pipe) before leaving with the status.
process.exitCode = code;
