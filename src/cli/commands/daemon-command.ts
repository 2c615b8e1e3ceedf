import type { Argv } from 'yargs';
import { CLIPBOARD_CHOICES } from '../../core/config/config.js';
import { LOG_FORMATS } from '../../core/log-format.js';
import { pathsFrom, type GlobalArgs } from '../context.js';
import type { DaemonCommandArgs } from '../daemon-fast-path.js';
import type { Logger } from '../../core/log.js';
import { messageOf } from '../../core/errors.js';
import { usageError } from '../output.js';

/** `clipsync daemon`: runs in the foreground until stopped. */
export function daemonCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'daemon',
    'Run the clipsync daemon in the foreground',
    (y) =>
      y
        .option('listen', { type: 'string', array: true, describe: 'Address to accept peers on: tcp://HOST:PORT or unix:PATH (repeatable; replaces the configured ones)' })
        .option('peer', { type: 'string', array: true, describe: 'Peer address to dial: tcp://HOST:PORT or unix:PATH (repeatable; added to the configured ones)' })
        .option('mdns', { type: 'boolean', describe: 'Find and announce peers on the LAN by mDNS (default on; --no-mdns turns it off)' })
        .option('mdns-interface', { type: 'string', array: true, describe: 'Interface name or address for mDNS (repeatable; replaces the configured ones; default: the multicast route)' })
        .option('clipboard', { choices: CLIPBOARD_CHOICES, describe: 'auto: the system clipboard when reachable, else memory' })
        .option('log-format', { choices: LOG_FORMATS, describe: 'Log lines on stderr: pretty (for people) or json (one JSON object per line); default: pretty on a terminal, else json' }),
    (args) => runDaemonCommand(args as DaemonCommandArgs),
  );
}

/** Runs the daemon with the command line's options, parsed by yargs or by the fast path. */
export async function runDaemonCommand(args: DaemonCommandArgs): Promise<void> {
  // Loaded here, not at the top: every other command (copy, paste, status…) would
  // otherwise pay for loading the whole daemon — most of a CLI call's start-up time.
  const [{ runDaemon }, { createRootLogger }, { parseAddress }] = await Promise.all([
    import('../../daemon/run-daemon.js'),
    import('../../core/log.js'),
    import('../../transport/address.js'),
  ]);
  // An address typed on the command line is a usage error (exit 2); one in config.json is the file's.
  for (const [flag, values] of [['--listen', args.listen], ['--peer', args.peer]] as const) {
    for (const value of values ?? []) {
      try {
        parseAddress(value);
      } catch (err) {
        throw usageError(`${flag} ${messageOf(err)}`);
      }
    }
  }
  const root = createRootLogger(undefined, args['log-format']);
  await runDaemon(
    pathsFrom(args),
    {
      listen: args.listen,
      peers: args.peer,
      mdns: args.mdns,
      mdnsInterfaces: args['mdns-interface'],
      clipboard: args.clipboard,
    },
    root,
  );
  exitSoon(root);
}

/** The most a stopped daemon lingers for what it does not own. */
const EXIT_GRACE_MS = 200;

/**
 * Every part of the daemon is closed by now, and the process normally ends within a few
 * milliseconds on its own. Should anything still hold the event loop (a library's socket or
 * timer, a child's pipe), it has nothing left to do for us: it is named in the log (debug) and
 * not waited for beyond a moment, so a supervisor or `clipsync stop` never waits on it.
 */
function exitSoon(root: Logger): void {
  const left = process.getActiveResourcesInfo();
  if (left.length > 0) root.debug({ resources: left }, 'still open after stopping');
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
