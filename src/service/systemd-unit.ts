import { daemonEnvWords, programArguments, type Installation, type ServiceProgram } from './command-line.js';

/**
 * systemd user units for the daemon and the tray, as pure functions of where things are: the
 * shipped systemd/clipsync.service is this output for a placeholder installation (a test keeps
 * them equal), and `clipsync service install` writes it for the real one.
 */

export type SessionTarget = 'graphical-session.target' | 'default.target';

export const DAEMON_UNIT = 'clipsync.service';
export const TRAY_UNIT = 'clipsync-tray.service';

export interface UnitOptions extends Installation {
  target: SessionTarget;
  /** The copy shipped in the repository (systemd/), with placeholder paths to edit by hand. */
  shipped?: boolean;
}

export function unitName(program: ServiceProgram): string {
  return program === 'daemon' ? DAEMON_UNIT : TRAY_UNIT;
}

export function renderDaemonUnit(options: UnitOptions): string {
  const header = options.shipped === true
    ? [
        '# systemd user unit for the clipsync daemon. `clipsync service install` writes this',
        '# with the paths of your node and your clipsync; to install it by hand, put those in',
        '# ExecStart= (see systemd/README.md). Generated: scripts/render-service-files.mjs.',
      ]
    : ['# systemd user unit for the clipsync daemon, written by `clipsync service install`', '# (run it again after moving node or clipsync; by hand: systemd/README.md).'];
  return [
    ...header,
    '',
    '[Unit]',
    'Description=clipsync peer-to-peer clipboard sync daemon',
    ...sessionBinding(options.target),
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execLine(programArguments(options, 'daemon'))}`,
    'Environment=CLIPSYNC_LOG_LEVEL=info',
    "# glibc's malloc keeps freed memory for the next message instead of faulting it in again (README).",
    ...daemonEnvWords().map((word) => `Environment=${word}`),
    '# `systemctl --user reload clipsync`: SIGHUP re-reads config.json (as a change to the file would).',
    'ExecReload=/bin/kill -HUP $MAINPID',
    '# stderr is the journal: one JSON line per record (`journalctl --user -u clipsync -f`).',
    'Restart=on-failure',
    'RestartSec=2',
    '# SIGTERM stops the daemon cleanly (goodbyes to peers); SIGKILL only after 10 s.',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=10',
    '',
    '[Install]',
    `WantedBy=${options.target}`,
    '',
  ].join('\n');
}

/** The tray needs a desktop to show in: it is always tied to the graphical session. */
export function renderTrayUnit(options: Installation): string {
  return [
    '# systemd user unit for the clipsync tray icon, written by `clipsync service install --tray`.',
    '',
    '[Unit]',
    'Description=clipsync tray icon',
    ...sessionBinding('graphical-session.target'),
    `After=${DAEMON_UNIT}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execLine(programArguments(options, 'tray'))}`,
    'Restart=on-failure',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=graphical-session.target',
    '',
  ].join('\n');
}

/**
 * Tied to the graphical session it starts with it (so DISPLAY / WAYLAND_DISPLAY exist when it
 * starts), and PartOf stops it when the session ends. A user unit has no network-online.target
 * to wait for: the daemon redials peers as the network comes and goes.
 */
function sessionBinding(target: SessionTarget): string[] {
  if (target === 'default.target') return [];
  return ['PartOf=graphical-session.target', 'After=graphical-session.target'];
}

/**
 * ExecStart= with each argument quoted the way systemd splits them: double quotes around any
 * argument with whitespace, quotes or backslashes, and `%` doubled (systemd's specifier sign).
 */
function execLine(argv: readonly string[]): string {
  return argv.map(quoteForSystemd).join(' ');
}

export function quoteForSystemd(arg: string): string {
  const escaped = arg.replaceAll('%', '%%');
  if (escaped !== '' && !/[\s"'\\;$]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('$', '$$$$')}"`;
}
