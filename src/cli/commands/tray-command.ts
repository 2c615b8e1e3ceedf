import type { Argv } from 'yargs';
import { fail } from '../../core/errors.js';
import { clientFrom, type GlobalArgs } from '../context.js';

/** `clipsync tray`: the tray icon, until quit from its menu or stopped by a signal. */
export function trayCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'tray',
    'Show clipsync in the system tray (StatusNotifierItem): state, recent clips, pause, pairing',
    (y) => y,
    (args) => tray(args),
  );
}

async function tray(args: GlobalArgs): Promise<void> {
  const busAddress = process.env['DBUS_SESSION_BUS_ADDRESS'];
  if (busAddress === undefined || busAddress === '') {
    throw fail('CLIPSYNC_ERR_USAGE', 'no session bus: DBUS_SESSION_BUS_ADDRESS is not set', {
      hint: 'run the tray inside your desktop session (clipsync service install --tray does); on macOS use the SwiftBar plugin in contrib/',
    });
  }
  const { TrayApp } = await import('../tray/tray-app.js');
  let quit: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (quit = resolve));
  const app = new TrayApp({
    busAddress,
    client: clientFrom(args),
    log: (message) => process.stderr.write(`clipsync tray: ${message}\n`),
    onQuit: () => quit(),
  });
  process.once('SIGTERM', () => quit());
  process.once('SIGINT', () => quit());
  await app.start();
  await done;
  app.stop();
}
