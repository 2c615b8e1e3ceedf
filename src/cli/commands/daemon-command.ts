import type { Argv } from 'yargs';
import { CLIPBOARD_CHOICES } from '../../core/config/config.js';
import { pathsFrom, type GlobalArgs } from '../context.js';
import type { DaemonCommandArgs } from '../daemon-fast-path.js';

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
        .option('clipboard', { choices: CLIPBOARD_CHOICES, describe: 'auto: the system clipboard when reachable, else memory' }),
    (args) => runDaemonCommand(args as DaemonCommandArgs),
  );
}

/** Runs the daemon with the command line's options, parsed by yargs or by the fast path. */
export async function runDaemonCommand(args: DaemonCommandArgs): Promise<void> {
  // Loaded here, not at the top: every other command (copy, paste, status…) would
  // otherwise pay for loading the whole daemon — most of a CLI call's start-up time.
  const [{ runDaemon }, { createRootLogger }] = await Promise.all([import('../../daemon/run-daemon.js'), import('../../core/log.js')]);
  await runDaemon(
    pathsFrom(args),
    {
      listen: args.listen,
      peers: args.peer,
      mdns: args.mdns,
      mdnsInterfaces: args['mdns-interface'],
      clipboard: args.clipboard,
    },
    createRootLogger(),
  );
}
