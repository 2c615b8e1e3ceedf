import type { ClipboardChoice } from '../core/config/config.js';
import { fail, messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClipboardBackend, ClipboardKind } from './backend.js';
import { DisplayWatch } from './display-watch.js';
import { MemoryBackend } from './memory-backend.js';

export interface SelectOptions {
  choice: ClipboardChoice;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** Deadline of every clipboard read and write. */
  timeoutMs: number;
  /** Watch PRIMARY as well as CLIPBOARD (config `primary`). */
  primary: boolean;
  log: Logger;
  /** How one backend is tried; the real one by default, a stand-in in the unit tests of the choice. */
  attempt?: (kind: ClipboardKind, options: AttemptOptions) => Promise<Attempt>;
}

/** What trying one backend needs: the options, and why earlier ones in the order failed. */
export type AttemptOptions = SelectOptions & { passedOver: string[] };

/**
 * One backend tried: it works, or why not. `absent`: the session has none of it at all (no
 * WAYLAND_DISPLAY), which is not worth a mention when another backend is chosen.
 */
export type Attempt = { backend: ClipboardBackend } | { failed: string; hint?: string; absent?: boolean };

/**
 * Picks the clipboard backend. `auto` tries, in order, Wayland with the data-control protocol,
 * X11 (also XWayland on GNOME, which lacks data-control), macOS, and clipboardy's text-only
 * fallback where there is no native backend (Windows); else memory, watching for a display
 * that appears later (a service started before the desktop session). The reason for the
 * choice is logged and shown by `status`.
 */
export async function selectBackend(options: SelectOptions): Promise<ClipboardBackend> {
  const { choice, log } = options;
  if (choice === 'memory') return new MemoryBackend('chosen with --clipboard memory');
  const attemptOne = options.attempt ?? tryBackend;
  const reasons: string[] = [];
  const passedOver: string[] = [];
  for (const kind of order(choice, options.platform)) {
    const attempt = await attemptOne(kind, { ...options, passedOver });
    if ('backend' in attempt) {
      if (passedOver.length > 0) log.info({ backend: attempt.backend.kind, passedOver }, 'clipboard backend chosen');
      return attempt.backend;
    }
    reasons.push(`${kind}: ${attempt.failed}`);
    if (attempt.absent !== true) passedOver.push(`${kind}: ${attempt.failed}`);
    if (choice !== 'auto' && choice !== 'system') {
      throw fail('CLIPSYNC_ERR_CLIPBOARD', `the ${kind} clipboard is not reachable: ${attempt.failed}`, { hint: attempt.hint ?? 'use --clipboard auto or memory' });
    }
    if (attempt.hint !== undefined) log.warn({ backend: kind, reason: attempt.failed, hint: attempt.hint }, 'clipboard backend unavailable');
  }
  if (choice === 'system') {
    throw fail('CLIPSYNC_ERR_CLIPBOARD', `the system clipboard is not reachable (${reasons.join('; ')})`, {
      hint: 'run inside a desktop session (DISPLAY or WAYLAND_DISPLAY set; wl-clipboard installed on Wayland), or use --clipboard memory',
    });
  }
  const reason = `no display yet (${reasons.join('; ')}); using the memory clipboard (clipsync copy/paste) and watching for one`;
  log.warn({ reasons }, 'no system clipboard; using the memory clipboard until a display appears');
  if (options.platform !== 'linux') return new MemoryBackend(reason);
  return new DisplayWatch(new MemoryBackend(reason), options.env, async (env) => {
    const later: string[] = [];
    for (const kind of order('auto', options.platform)) {
      const attempt = await attemptOne(kind, { ...options, env, passedOver: later });
      if ('backend' in attempt) return attempt.backend;
      if (attempt.absent !== true) later.push(`${kind}: ${attempt.failed}`);
    }
    return undefined;
  }, log);
}

function order(choice: ClipboardChoice, platform: NodeJS.Platform): ClipboardKind[] {
  if (choice === 'x11' || choice === 'wayland' || choice === 'macos' || choice === 'text') return [choice];
  if (platform === 'darwin') return ['macos'];
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return ['wayland', 'x11'];
  return ['text'];
}

async function tryBackend(kind: ClipboardKind, options: AttemptOptions): Promise<Attempt> {
  const { env, log, timeoutMs } = options;
  try {
    switch (kind) {
      case 'wayland': {
        if (!env['WAYLAND_DISPLAY']) return { failed: 'WAYLAND_DISPLAY is not set', absent: true };
        const { WaylandBackend } = await import('./wayland/wayland-backend.js');
        const probe = await WaylandBackend.probe(env, log);
        if (!probe.ok) return { failed: probe.reason, hint: probe.hint };
        return { backend: new WaylandBackend({ env, log, primary: options.primary, deadlineMs: timeoutMs, reason: probe.reason }) };
      }
      case 'x11': {
        const display = env['DISPLAY'];
        if (!display) return { failed: 'DISPLAY is not set', absent: true };
        const { X11Backend } = await import('./x11/x11-backend.js');
        const passedOver = options.passedOver.length > 0 ? options.passedOver.join('; ') : undefined;
        return { backend: await X11Backend.connect(display, log, undefined, { requestTimeoutMs: timeoutMs, ...(passedOver === undefined ? {} : { passedOver }) }) };
      }
      case 'macos': {
        const { MacosBackend } = await import('./macos/macos-backend.js');
        return { backend: new MacosBackend({ log, deadlineMs: timeoutMs }) };
      }
      case 'text': {
        // Loaded only here: clipboardy and the process tools under it are most of an idle
        // daemon's heap when they are loaded and never used.
        const { TextBackend } = await import('./text-backend.js');
        await TextBackend.probe(timeoutMs);
        return { backend: new TextBackend('clipboardy (text only): no native clipboard backend for this platform', timeoutMs) };
      }
      case 'memory':
        return { backend: new MemoryBackend('chosen with --clipboard memory') };
    }
  } catch (err) {
    return { failed: messageOf(err) };
  }
}
