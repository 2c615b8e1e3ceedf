import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { BackendEvents, ClipToWrite, ClipboardBackend, ClipboardSnapshot, ReadOptions, Selection } from './backend.js';

const FIRST_LOOK_MS = 2_000;
const LAST_LOOK_MS = 30_000;

/**
 * The memory clipboard while no display is there, switching to the desktop's clipboard when
 * one appears: a user service often starts before the desktop session, and must not need a
 * restart to find it. It looks only at socket files (no process is spawned while waiting),
 * less often as time goes on, and tries the real backends once a socket is there. The
 * environment of a service may not name the display, so the usual sockets are looked for too.
 */
export class DisplayWatch implements ClipboardBackend {
  private inner: ClipboardBackend;
  private events: BackendEvents | undefined;
  private timer: TimerHandle | undefined;
  private delay = FIRST_LOOK_MS;
  private stopped = false;
  private trying = false;

  constructor(
    fallback: ClipboardBackend,
    private readonly env: NodeJS.ProcessEnv,
    private readonly trySelect: (env: NodeJS.ProcessEnv) => Promise<ClipboardBackend | undefined>,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.inner = fallback;
  }

  get kind(): ClipboardBackend['kind'] {
    return this.inner.kind;
  }
  get reason(): string {
    return this.inner.reason;
  }
  // Events are forwarded from whichever backend is inside; the memory one has none to poll for.
  readonly hasEvents = true;
  get servesLazily(): boolean {
    return this.inner.servesLazily;
  }

  async start(events: BackendEvents): Promise<void> {
    this.events = events;
    await this.inner.start(events);
    this.schedule();
  }

  read(selection: Selection, options: ReadOptions): Promise<ClipboardSnapshot | null> {
    return this.inner.read(selection, options);
  }

  write(clip: ClipToWrite): Promise<'written' | 'unsupported'> {
    return this.inner.write(clip);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    await this.inner.stop();
  }

  private schedule(): void {
    if (this.stopped || this.inner.kind !== 'memory') return;
    this.timer = this.clock.setTimeout(() => void this.look(), this.delay);
    this.delay = Math.min(this.delay * 2, LAST_LOOK_MS);
  }

  private async look(): Promise<void> {
    if (this.stopped || this.trying) return;
    const env = displayEnv(this.env);
    if (env === undefined) return this.schedule();
    this.trying = true;
    try {
      const found = await this.trySelect(env);
      if (found === undefined || this.stopped) {
        await found?.stop();
        return this.schedule();
      }
      await found.start(this.events!);
      if (this.stopped) {
        await found.stop(); // stopped while it started: it must not outlive the daemon
        return;
      }
      const previous = this.inner;
      this.inner = found;
      await previous.stop();
      this.log.info({ backend: found.kind, reason: found.reason }, 'a display appeared; now syncing the desktop clipboard');
      this.events!.reconnected();
      for (const selection of ['clipboard', 'primary'] as const) this.events!.changed(selection);
    } catch (err) {
      this.log.debug({ reason: messageOf(err) }, 'display not usable yet');
      this.schedule();
    } finally {
      this.trying = false;
    }
  }
}

/**
 * The environment with a display that has a socket now: the one named in `env`, else the
 * first Wayland socket in XDG_RUNTIME_DIR or X socket in /tmp/.X11-unix. undefined: none yet.
 */
export function displayEnv(env: NodeJS.ProcessEnv, list: (dir: string) => string[] = listDir): NodeJS.ProcessEnv | undefined {
  const runtime = env['XDG_RUNTIME_DIR'];
  const wayland = env['WAYLAND_DISPLAY'] || (runtime ? list(runtime).find((n) => /^wayland-\d+$/.test(n)) : undefined);
  const waylandUp = wayland !== undefined && (wayland.startsWith('/') ? exists(wayland, list) : runtime !== undefined && list(runtime).includes(wayland));
  const xSockets = list('/tmp/.X11-unix');
  const display = env['DISPLAY'] || (xSockets.find((n) => /^X\d+$/.test(n)) !== undefined ? `:${xSockets.find((n) => /^X\d+$/.test(n))!.slice(1)}` : undefined);
  const number = display?.match(/^[^:]*:(\d+)/)?.[1];
  const xUp = display !== undefined && (number === undefined || !/^:/.test(display) || xSockets.includes(`X${number}`));
  if (!waylandUp && !xUp) return undefined;
  return { ...env, ...(waylandUp ? { WAYLAND_DISPLAY: wayland } : {}), ...(xUp ? { DISPLAY: display } : {}) };
}

function exists(path: string, list: (dir: string) => string[]): boolean {
  const slash = path.lastIndexOf('/');
  return list(path.slice(0, slash) || '/').includes(path.slice(slash + 1));
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(join(dir));
  } catch {
    return [];
  }
}
