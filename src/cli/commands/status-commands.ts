import type { Argv } from 'yargs';
import type { PeersResponse, StatusResponse } from '../../ipc/schema.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine, table } from '../output.js';

/** `clipsync status` and `clipsync peers`: what the running daemon sees. */
export function statusCommands(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli
    .command(
      'status',
      'Show whether the daemon runs, its identity, addresses and peer counts',
      (y) => y,
      async (args) => {
        const status = await clientFrom(args).json<StatusResponse>({ method: 'GET', path: '/v1/status' });
        if (args.json) {
          printJson(status);
          return;
        }
        printLine(`clipsync daemon running (pid ${status.pid}, version ${status.version})`);
        printLine(`name:        ${status.name}`);
        printLine(`fingerprint: ${status.fingerprint}`);
        printLine(`listening:   ${status.listen.length > 0 ? status.listen.join(', ') : 'nowhere (dial-out only)'}`);
        printLine(`clipboard:   ${status.clipboard}`);
        printLine(`peers:       ${status.peers.connected} connected, ${status.peers.known} known`);
        printLine(`clip:        ${status.clip === null ? 'none yet' : `${status.clip.mime}, ${status.clip.size} bytes`}`);
      },
    )
    .command(
      'peers',
      'List known peers and their connection state',
      (y) => y,
      async (args) => {
        const peers = await clientFrom(args).json<PeersResponse>({ method: 'GET', path: '/v1/peers' });
        if (args.json) {
          printJson(peers);
          return;
        }
        if (peers.length === 0) {
          printLine('no peers yet: start the daemon with --peer ADDR, or dial this one from another machine');
          return;
        }
        printLine(
          table(
            ['NAME', 'STATE', 'ADDRESS', 'FINGERPRINT', 'NOTE'],
            peers.map((p) => [p.name ?? '-', p.state, p.address ?? '-', p.fingerprint ?? '-', p.lastError ?? '']),
          ),
        );
      },
    );
}
