import type { Argv } from 'yargs';
import { fail } from '../../core/errors.js';
import type { StatusResponse } from '../../ipc/schema.js';
import { isListening } from '../../transport/unix-socket.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine } from '../output.js';
import { processGone } from '../process-gone.js';

/** How long `stop` waits for the daemon to finish closing its connections and exit. */
const STOP_WAIT_MS = 15_000;
const POLL_MS = 20;

/** `clipsync stop`: asks the daemon to stop and returns once its process is gone. */
export function stopCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'stop',
    'Stop the daemon cleanly and wait until it has exited',
    (y) => y,
    (args) => stop(args),
  );
}

/**
 * `clipsync stop`: also run without yargs by the fast path (fast-path.ts). It returns only when
 * the daemon's control socket is closed and its process has exited, so `clipsync stop &&
 * clipsync daemon` (or a package upgrade) never meets the old one still holding its ports.
 */
export async function stop(args: GlobalArgs): Promise<void> {
  const client = clientFrom(args);
  const { pid } = await client.json<StatusResponse>({ method: 'GET', path: '/v1/status' });
  await client.json({ method: 'POST', path: '/v1/stop' });
  const deadline = Date.now() + STOP_WAIT_MS;
  // The daemon removes its socket as the last step of stopping, then exits.
  while ((await isListening(client.socketPath)) || !processGone(pid)) {
    if (Date.now() > deadline) {
      throw fail('CLIPSYNC_ERR_INTERNAL', `the daemon (pid ${pid}) is still running ${STOP_WAIT_MS / 1000} s after it was asked to stop`, {
        hint: `see its log; \`kill -9 ${pid}\` ends it at once (transfers in progress resume later)`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (args.json === true) printJson({ stopped: true, pid });
  else printLine('clipsync daemon stopped');
}
