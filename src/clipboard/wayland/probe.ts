import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock, Timer, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { killGroup, WL_CLIPBOARD_HINT } from './run-tool.js';
import { isDataControlDeviceRequest, plainStderr, saysCannotConnect, saysNoDataControl } from './wl-clipboard-output.js';

/**
 * Decides whether the Wayland backend can run here. The daemon asks before it picks a backend;
 * on a "no" it uses X11 through XWayland when DISPLAY is set, else the memory backend.
 *
 * The test that matters is data-control (wlr or ext): without it wl-paste can read the clipboard
 * only by popping up a surface that takes the keyboard focus, and cannot watch it at all. We ask
 * wl-paste itself, which is what the backend will run: `wl-paste --watch true` either refuses at
 * once ("Watch mode requires a compositor that supports wlroots data-control protocol", as on
 * GNOME), or, with WAYLAND_DEBUG, shows the request that creates its data-control device (then
 * it is killed). One process, a few milliseconds, and no focus stolen in either case; the owner of
 * the clipboard is not asked for anything (`true` exits without reading).
 */

export type WaylandDecision = { ok: true; reason: string } | { ok: false; reason: string; hint?: string };

/** What the probe found; `decideWayland` turns it into the decision. */
export interface WaylandFacts {
  /** $WAYLAND_DISPLAY; unset or empty: not a Wayland session. */
  waylandDisplay: string | undefined;
  /** Which of wl-paste and wl-copy are not on PATH. */
  missingTools: string[];
  /** How `wl-paste --watch true` started; absent when it was not tried. */
  watch?: { outcome: 'data-control' } | { outcome: 'exited'; code: number | null; stderr: string } | { outcome: 'timeout'; ms: number };
}

export const PROBE_DEADLINE_MS = 3000;

export function decideWayland(facts: WaylandFacts): WaylandDecision {
  if (facts.waylandDisplay === undefined || facts.waylandDisplay === '') {
    return { ok: false, reason: 'not a Wayland session (WAYLAND_DISPLAY is not set)' };
  }
  if (facts.missingTools.length > 0) {
    return { ok: false, reason: `${facts.missingTools.join(' and ')} not found on PATH`, hint: WL_CLIPBOARD_HINT };
  }
  const watch = facts.watch;
  if (watch === undefined) return { ok: false, reason: 'the Wayland clipboard was not probed' };
  switch (watch.outcome) {
    case 'data-control':
      return { ok: true, reason: `Wayland compositor with the data-control protocol at ${facts.waylandDisplay} (wl-clipboard)` };
    case 'timeout':
      return { ok: false, reason: `wl-paste did not connect to ${facts.waylandDisplay} within ${watch.ms} ms` };
    case 'exited':
      if (saysNoDataControl(watch.stderr)) {
        return {
          ok: false,
          reason:
            'the Wayland compositor has no data-control protocol (wlr or ext; GNOME has neither), so the clipboard cannot be watched without stealing focus',
          hint: 'clipsync uses X11 through XWayland when DISPLAY is set',
        };
      }
      if (saysCannotConnect(watch.stderr)) {
        return { ok: false, reason: `cannot connect to the Wayland compositor at ${facts.waylandDisplay}` };
      }
      return { ok: false, reason: `wl-paste --watch exited (${watch.code}): ${plainStderr(watch.stderr) || 'no message'}` };
  }
}

/** Gathers the facts and decides; never throws. */
export async function probeWayland(
  env: NodeJS.ProcessEnv,
  log: Logger,
  options: { clock?: Clock; deadlineMs?: number } = {},
): Promise<WaylandDecision> {
  const facts: WaylandFacts = {
    waylandDisplay: env['WAYLAND_DISPLAY'],
    missingTools: ['wl-paste', 'wl-copy'].filter((tool) => !onPath(tool, env['PATH'] ?? '')),
  };
  if (facts.waylandDisplay && facts.missingTools.length === 0) {
    facts.watch = await tryWatch(env, options.clock ?? systemClock, options.deadlineMs ?? PROBE_DEADLINE_MS);
  }
  const decision = decideWayland(facts);
  log.debug({ facts, decision }, 'Wayland clipboard probed');
  return decision;
}

function onPath(tool: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function tryWatch(env: NodeJS.ProcessEnv, clock: Clock, deadlineMs: number): Promise<NonNullable<WaylandFacts['watch']>> {
  return new Promise((resolve) => {
    const child = spawn('wl-paste', ['--watch', 'true'], {
      env: { ...env, WAYLAND_DEBUG: '1' },
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let outcome: NonNullable<WaylandFacts['watch']> | undefined;
    let stderr = '';
    const deadline = new Timer(clock, () => {
      outcome ??= { outcome: 'timeout', ms: deadlineMs };
      killGroup(child, 'SIGKILL');
    });
    deadline.set(deadlineMs);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (outcome === undefined && isDataControlDeviceRequest(line)) {
        outcome = { outcome: 'data-control' };
        killGroup(child, 'SIGKILL');
      } else if (!line.startsWith('[')) {
        stderr = (stderr + line + '\n').slice(-2048);
      }
    });
    child.once('error', (err) => {
      stderr += `${err.message}\n`;
      if (child.pid === undefined) {
        deadline.clear();
        resolve({ outcome: 'exited', code: null, stderr });
      }
    });
    // Settle only when the group is gone, so the probe never leaves a process behind.
    child.once('close', (code) => {
      deadline.clear();
      resolve(outcome ?? { outcome: 'exited', code, stderr });
    });
  });
}
