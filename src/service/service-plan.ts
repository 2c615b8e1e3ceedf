import { join } from 'node:path';
import type { Installation } from './command-line.js';
import { LAUNCHD_LABEL, renderDaemonPlist } from './launchd-plist.js';
import type { TargetChoice } from './session-target.js';
import { DAEMON_UNIT, renderDaemonUnit, renderTrayUnit, TRAY_UNIT } from './systemd-unit.js';

/**
 * What `service install` and `uninstall` do, as a list of steps computed before anything is
 * touched: `--dry-run` prints exactly this list, and the runner does exactly this list.
 */
export type Step =
  | { kind: 'write'; path: string; content: string }
  | { kind: 'remove'; path: string }
  | { kind: 'mkdir'; path: string }
  /** `manager`: a call to systemd's user manager or launchd, which may be out of reach. `mayFail`: its failure is expected (bootout of an agent not loaded). */
  | { kind: 'run'; argv: string[]; manager: true; mayFail?: boolean };

export type ServicePlatform = 'linux' | 'darwin';

export interface ServiceContext {
  platform: ServicePlatform;
  installation: Installation;
  /** The user's home directory (launchd paths). */
  homeDir: string;
  /** $XDG_CONFIG_HOME or ~/.config (systemd user units). */
  configHome: string;
  uid: number;
}

export interface ServiceFiles {
  daemon: string;
  /** Linux only. */
  tray?: string;
  /** macOS: where the agent's output goes. */
  logFile?: string;
}

export function serviceFiles(ctx: ServiceContext): ServiceFiles {
  if (ctx.platform === 'darwin') {
    return {
      daemon: join(ctx.homeDir, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`),
      logFile: join(ctx.homeDir, 'Library', 'Logs', 'clipsync', 'clipsync.log'),
    };
  }
  const dir = join(ctx.configHome, 'systemd', 'user');
  return { daemon: join(dir, DAEMON_UNIT), tray: join(dir, TRAY_UNIT) };
}

const systemctl = (...args: string[]): Step => ({ kind: 'run', argv: ['systemctl', '--user', ...args], manager: true });

export function planInstall(ctx: ServiceContext, options: { target: TargetChoice; tray: boolean }): Step[] {
  const files = serviceFiles(ctx);
  if (ctx.platform === 'darwin') {
    const domain = `gui/${ctx.uid}`;
    return [
      { kind: 'mkdir', path: join(ctx.homeDir, 'Library', 'LaunchAgents') },
      { kind: 'mkdir', path: join(ctx.homeDir, 'Library', 'Logs', 'clipsync') },
      { kind: 'write', path: files.daemon, content: renderDaemonPlist({ ...ctx.installation, logFile: files.logFile! }) },
      // An agent loaded before (an older install) is unloaded first: bootstrap refuses a loaded label.
      { kind: 'run', argv: ['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`], manager: true, mayFail: true },
      { kind: 'run', argv: ['launchctl', 'enable', `${domain}/${LAUNCHD_LABEL}`], manager: true },
      { kind: 'run', argv: ['launchctl', 'bootstrap', domain, files.daemon], manager: true },
    ];
  }
  const units = [DAEMON_UNIT, ...(options.tray ? [TRAY_UNIT] : [])];
  return [
    { kind: 'mkdir', path: join(ctx.configHome, 'systemd', 'user') },
    { kind: 'write', path: files.daemon, content: renderDaemonUnit({ ...ctx.installation, target: options.target.target }) },
    ...(options.tray ? [{ kind: 'write', path: files.tray!, content: renderTrayUnit(ctx.installation) } as Step] : []),
    systemctl('daemon-reload'),
    // An earlier install may have been enabled under the other target: re-enabling moves it.
    systemctl('reenable', ...units),
    systemctl('restart', ...units),
  ];
}

/** Undoes an install: only the files that exist are named (and removed). */
export function planUninstall(ctx: ServiceContext, exists: (path: string) => boolean): Step[] {
  const files = serviceFiles(ctx);
  if (ctx.platform === 'darwin') {
    if (!exists(files.daemon)) return [];
    return [
      { kind: 'run', argv: ['launchctl', 'bootout', `gui/${ctx.uid}/${LAUNCHD_LABEL}`], manager: true, mayFail: true },
      { kind: 'remove', path: files.daemon },
    ];
  }
  const present = [files.daemon, files.tray!].filter(exists);
  if (present.length === 0) return [];
  const units = present.map((p) => (p === files.daemon ? DAEMON_UNIT : TRAY_UNIT));
  // `disable` removes the target.wants links; any left (a manager out of reach) go with the units.
  const dir = join(ctx.configHome, 'systemd', 'user');
  const links = ['graphical-session.target', 'default.target'].flatMap((t) => units.map((u) => join(dir, `${t}.wants`, u))).filter(exists);
  return [
    systemctl('disable', '--now', ...units),
    ...[...present, ...links].map((path): Step => ({ kind: 'remove', path })),
    systemctl('daemon-reload'),
  ];
}
