import type { Argv } from 'yargs';
import { isListening } from '../../transport/unix-socket.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine } from '../output.js';

/** How long `stop` waits for the daemon to finish closing its connections. */
const STOP_WAIT_MS = 15_000;

/** `clipsync stop`: asks the daemon to stop and returns once its control socket is gone. */
export function stopCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'stop',
    'Stop the daemon cleanly',
    (y) => y,
    (args) => stop(args),
  );
}

/** `clipsync stop`: also run without yargs by the fast path (fast-path.ts). */
export async function stop(args: GlobalArgs): Promise<void> {
  const client = clientFrom(args);
  await client.json({ method: 'POST', path: '/v1/stop' });
  const deadline = Date.now() + STOP_WAIT_MS;
  // The daemon removes its socket as the last step of stopping; poll for that event.
  while ((await isListening(client.socketPath)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (args.json === true) printJson({ stopped: true });
  else printLine('clipsync daemon stopped');
}
