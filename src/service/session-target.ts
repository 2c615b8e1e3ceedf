import type { SessionTarget } from './systemd-unit.js';

/**
 * Which target the daemon's unit hangs on, and why, in words for the install output.
 *
 * graphical-session.target starts with the desktop, after DISPLAY / WAYLAND_DISPLAY exist, so
 * the daemon finds the desktop clipboard at once instead of starting on the memory clipboard.
 * But only sessions that activate it (GNOME, KDE Plasma, sway/Hyprland with systemd
 * integration…) ever reach it: a unit wanted by it on a session that does not would never start.
 * So the user manager's word decides when it can be asked; the environment only when it cannot.
 */
export interface TargetChoice {
  target: SessionTarget;
  reason: string;
}

export interface TargetFacts {
  env: NodeJS.ProcessEnv;
  /** `systemctl --user is-active graphical-session.target`: true/false, undefined when the user manager cannot be asked. */
  graphicalActive: boolean | undefined;
  /** `--target` given on the command line. */
  forced?: SessionTarget;
}

export function chooseTarget({ env, graphicalActive, forced }: TargetFacts): TargetChoice {
  if (forced !== undefined) return { target: forced, reason: 'chosen with --target' };
  const display = displayVariable(env);
  if (graphicalActive === true) return { target: 'graphical-session.target', reason: 'graphical-session.target is active: the daemon starts with your desktop session' };
  if (graphicalActive === false) {
    return display === undefined
      ? { target: 'default.target', reason: 'no graphical session (graphical-session.target is not active): the daemon starts at login' }
      : {
          target: 'default.target',
          reason: `${display} is set but your session does not activate graphical-session.target, so the daemon starts at login; give it the display with \`systemctl --user import-environment DISPLAY WAYLAND_DISPLAY XAUTHORITY\``,
        };
  }
  return display === undefined
    ? { target: 'default.target', reason: 'no DISPLAY or WAYLAND_DISPLAY here, and no user manager to ask: the daemon starts at login' }
    : { target: 'graphical-session.target', reason: `${display} is set, and no user manager to ask: the daemon starts with your desktop session` };
}

function displayVariable(env: NodeJS.ProcessEnv): string | undefined {
  if ((env['WAYLAND_DISPLAY'] ?? '') !== '') return 'WAYLAND_DISPLAY';
  if ((env['DISPLAY'] ?? '') !== '') return 'DISPLAY';
  return undefined;
}
