import { LAUNCHD_LABEL } from './launchd-plist.js';
import { pathExists, runCommand, systemdUnreachable, launchdUnreachable, firstLine } from './run-steps.js';
import { serviceFiles, type ServiceContext } from './service-plan.js';
import { DAEMON_UNIT, TRAY_UNIT } from './systemd-unit.js';

/** One installed (or not) service, as `service status` reports it. */
export interface UnitStatus {
  name: string;
  path: string;
  installed: boolean;
  /** systemd: `is-enabled` (enabled, disabled…); launchd: `loaded` / `not loaded`. null: the manager could not be asked. */
  enabled: string | null;
  /** systemd: `is-active` (active, inactive, failed…); launchd: the agent's `state` (running…). null: not asked. */
  active: string | null;
}

export interface ServiceStatus {
  platform: 'linux' | 'darwin';
  /** Whether systemd's user manager / launchd could be asked; `managerError` says why not. */
  managerReachable: boolean;
  managerError?: string;
  services: UnitStatus[];
}

export async function serviceStatus(ctx: ServiceContext): Promise<ServiceStatus> {
  const files = serviceFiles(ctx);
  if (ctx.platform === 'darwin') {
    const installed = pathExists(files.daemon);
    const print = await runCommand(['launchctl', 'print', `gui/${ctx.uid}/${LAUNCHD_LABEL}`]);
    const reachable = !launchdUnreachable(print);
    const state = /^\s*state = (\S+)/m.exec(print.stdout)?.[1] ?? null;
    return {
      platform: 'darwin',
      managerReachable: reachable,
      ...(reachable ? {} : { managerError: firstLine(print.stderr) }),
      services: [{ name: LAUNCHD_LABEL, path: files.daemon, installed, enabled: reachable ? (print.code === 0 ? 'loaded' : 'not loaded') : null, active: reachable && print.code === 0 ? state : null }],
    };
  }
  let managerError: string | undefined;
  const services: UnitStatus[] = [];
  for (const [name, path] of [[DAEMON_UNIT, files.daemon], [TRAY_UNIT, files.tray!]] as const) {
    const installed = pathExists(path);
    if (name === TRAY_UNIT && !installed) continue; // the tray is listed only once installed
    // is-enabled reads the unit files and answers even without a manager; is-active needs one.
    const ask = async (verb: string): Promise<string | null> => {
      const result = await runCommand(['systemctl', '--user', verb, name]);
      if (systemdUnreachable(result)) {
        managerError ??= firstLine(result.stderr);
        return null;
      }
      return firstLine(result.stdout) || null;
    };
    services.push({ name, path, installed, enabled: await ask('is-enabled'), active: await ask('is-active') });
  }
  return { platform: 'linux', managerReachable: managerError === undefined, ...(managerError === undefined ? {} : { managerError }), services };
}
