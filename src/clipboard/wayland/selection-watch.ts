import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Timer, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { Selection } from '../backend.js';
import { killGroup } from './run-tool.js';
import { isDataControlDeviceRequest, parseWatchState, plainStderr, type WatchState } from './wl-clipboard-output.js';

/**
 * One long-lived `wl-paste --watch` for one selection: the only process that runs while the
 * clipboard is idle. It never polls: wl-paste without data-control would pop up a surface and
 * steal focus on every call, so where --watch cannot run, nothing runs (probe.ts rules it out).
 */

/**
 * The shell script wl-paste runs for each change. It prints `$CLIPBOARD_STATE` (data, nil,
 * clear, sensitive; unset before wl-clipboard 2.2) at once, then drains the copy into /dev/null,
 * so no byte of it reaches this process.
 *
 * Draining is needed: an owner that writes the copy itself without ignoring SIGPIPE dies when its
 * reader closes early (`wl-copy "$(long text)"` does: the clipboard went empty in our test), and
 * the owner cannot tell us apart from a paste. The drain has a time limit because wl-paste waits
 * for the script: an owner that never answers would otherwise stop every later change from being
 * reported. Without `timeout` (not coreutils/busybox) the script still reports, just undrained.
 */
export function watchScript(drainSeconds: number): string {
  const seconds = Math.max(1, Math.ceil(drainSeconds));
  return `printf '%s\\n' "\${CLIPBOARD_STATE:-}"; timeout ${seconds} cat >/dev/null 2>&1; exit 0`;
}

/** Restart delays after the watch died (compositor gone): from this, doubling, up to the max. */
export const WATCH_BACKOFF_MIN_MS = 250;
export const WATCH_BACKOFF_MAX_MS = 30_000;

export interface SelectionWatchOptions {
  selection: Selection;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  log: Logger;
  /** The longest the watch drains one copy (an owner slower than this is treated as frozen). */
  drainMs: number;
  /** A copy was made (on wl-clipboard ≥ 2.2 also: the selection was cleared). */
  onChange(state: WatchState): void;
  /** wl-paste is watching; `afterLoss` when it is back after dying. */
  onConnected(afterLoss: boolean): void;
  /** The watch died (once per outage); it is being restarted. */
  onLost(): void;
}

export class SelectionWatch {
  private child: ChildProcess | undefined;
  private closed: Promise<void> = Promise.resolve();
  private stopped = true;
  /** The watch died and has not connected since: an outage, logged once. */
  private lost = false;
  private backoffMs = WATCH_BACKOFF_MIN_MS;
  private readonly restartTimer: Timer;

  constructor(private readonly options: SelectionWatchOptions) {
    this.restartTimer = new Timer(options.clock, () => this.spawnWatch());
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.spawnWatch();
  }

  /** Kills the watch (and a change command it may be running); idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.restartTimer.clear();
    const child = this.child;
    this.child = undefined;
    if (child === undefined) return;
    killGroup(child, 'SIGTERM');
    // wl-paste has no SIGTERM handler, so this is quick; the escalation is for a stopped process.
    const escalate = new Timer(this.options.clock, () => killGroup(child, 'SIGKILL'));
    escalate.set(2000);
    await this.closed;
    escalate.clear();
  }

  private spawnWatch(): void {
    if (this.stopped) return;
    const { selection, env } = this.options;
    const args = [...(selection === 'primary' ? ['--primary'] : []), '--watch', 'sh', '-c', watchScript(this.options.drainMs / 1000)];
    // WAYLAND_DEBUG makes wl-paste log its requests, among them the one that proves it is watching
    // through data-control: the only positive sign (an empty selection runs no command on 2.1).
    const child = spawn('wl-paste', args, { env: { ...env, WAYLAND_DEBUG: '1' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    let connected = false;

    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.child === child) this.options.onChange(parseWatchState(line));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (!connected && isDataControlDeviceRequest(line)) {
        connected = true;
        if (this.child === child) this.connected();
      } else if (!line.startsWith('[')) {
        stderr = (stderr + line + '\n').slice(-2048);
      }
    });
    child.once('error', (err) => {
      stderr += `${err.message}\n`;
    });
    child.once('close', (code, signal) => {
      if (this.child === child) this.exited(code ?? signal ?? 'unknown', plainStderr(stderr));
    });
  }

  private connected(): void {
    const afterLoss = this.lost;
    this.lost = false;
    this.backoffMs = WATCH_BACKOFF_MIN_MS;
    if (afterLoss) this.options.log.info({ selection: this.options.selection }, 'watching the Wayland clipboard again');
    this.options.onConnected(afterLoss);
  }

  private exited(status: number | string, stderr: string): void {
    this.child = undefined;
    if (this.stopped) return;
    if (!this.lost) {
      // Once per outage: a compositor that stays away for hours must not fill the log.
      this.lost = true;
      this.options.log.warn(
        { selection: this.options.selection, status, stderr },
        'wl-paste --watch exited (the compositor went away?); restarting it with backoff',
      );
      this.options.onLost();
    }
    this.restartTimer.set(this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, WATCH_BACKOFF_MAX_MS);
  }
}
