import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { BackendEvents, ClipboardBackend, ClipboardSnapshot, ClipToWrite, ReadOptions, Selection } from '../backend.js';
import { probeWayland, type WaylandDecision } from './probe.js';
import { SelectionWatch } from './selection-watch.js';
import { readSelection } from './selection-reader.js';
import { WlCopyWriter } from './wl-copy-writer.js';
import type { WatchState } from './wl-clipboard-output.js';

/**
 * The Wayland clipboard through wl-clipboard's command-line tools (wl-paste, wl-copy), on
 * compositors with the data-control protocol (sway, Hyprland, KDE, …; not GNOME: see probe.ts).
 * This file only joins the parts: the watch (events), the reader and the writer.
 */

export const DEFAULT_DEADLINE_MS = 2000;

export interface WaylandBackendOptions {
  log: Logger;
  /** Where WAYLAND_DISPLAY and PATH come from; the daemon's own environment by default. */
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Also watch PRIMARY (the mouse selection), not only CLIPBOARD. */
  primary: boolean;
  /** Why this backend was chosen (`probe().reason`), for `status` and the log. */
  reason?: string;
  /** Deadline of every wl-paste/wl-copy run; an owner slower than this is treated as frozen. */
  deadlineMs?: number;
}

/** How many clipboard deadlines a write's own change may take to be reported by the watch. */
const OWN_WRITE_WINDOW_FACTOR = 3;

export class WaylandBackend implements ClipboardBackend {
  readonly kind = 'wayland' as const;
  readonly reason: string;
  readonly hasEvents = true;
  /** wl-copy reads all of stdin before it offers anything, so a clip's bytes must be here first. */
  readonly servesLazily = false;

  private readonly env: NodeJS.ProcessEnv;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly deadlineMs: number;
  private readonly watches = new Map<Selection, SelectionWatch>();
  private readonly writer: WlCopyWriter;
  /** The last $CLIPBOARD_STATE per selection: a sensitive copy is never read. */
  private readonly lastState = new Map<Selection, WatchState>();
  /** Some watch died and not all are back: the next full recovery is a reconnect. */
  private outage = false;
  private readonly connected = new Set<Selection>();
  /**
   * Per selection, until when each of our own wl-copy runs may still be reported by the watch.
   * The change our own write makes is not a copy: skipping it spares reading the clip straight
   * back (a large one whole). Each entry expires, so a change the watch never reported cannot
   * make us skip a real copy later.
   */
  private readonly ownWrites = new Map<Selection, { until: number }[]>();
  /** Selections our own wl-copy holds since its write: reading them back would copy the daemon's clip to itself. */
  private readonly holding = new Set<Selection>();

  /** Whether this backend can run here; see probe.ts. Never throws. */
  static probe(env: NodeJS.ProcessEnv, log: Logger): Promise<WaylandDecision> {
    return probeWayland(env, log);
  }

  constructor(private readonly options: WaylandBackendOptions) {
    this.env = options.env ?? process.env;
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.reason = options.reason ?? 'Wayland compositor with the data-control protocol (wl-clipboard)';
    this.writer = new WlCopyWriter({ env: this.env, clock: this.clock, log: this.log, deadlineMs: this.deadlineMs });
  }

  async start(events: BackendEvents): Promise<void> {
    const selections: Selection[] = this.options.primary ? ['clipboard', 'primary'] : ['clipboard'];
    for (const selection of selections) {
      if (this.watches.has(selection)) continue;
      const watch = new SelectionWatch({
        selection,
        env: this.env,
        clock: this.clock,
        log: this.log,
        drainMs: this.deadlineMs,
        onChange: (state) => {
          this.lastState.set(selection, state);
          if (this.takeOwnWrite(selection)) return;
          this.holding.delete(selection); // another client's copy: the selection is no longer ours
          events.changed(selection);
        },
        onConnected: () => {
          this.connected.add(selection);
          // One reconnected() per outage, when every watch is back (both go when the compositor does).
          if (this.outage && this.connected.size === this.watches.size) {
            this.outage = false;
            events.reconnected();
          }
        },
        onLost: () => {
          this.connected.delete(selection);
          // What was known about the old compositor's clipboard no longer holds.
          this.lastState.delete(selection);
          this.ownWrites.delete(selection);
          this.holding.delete(selection);
          this.outage = true;
        },
      });
      this.watches.set(selection, watch);
      watch.start();
    }
  }

  async read(selection: Selection, options: ReadOptions): Promise<ClipboardSnapshot | null> {
    // Said sensitive by wl-paste: not even opened, so the secret never enters this process.
    if (this.lastState.get(selection) === 'sensitive') return { selection, formats: [], sensitive: true };
    if (this.holding.has(selection)) return null;
    return readSelection(selection, options, { env: this.env, clock: this.clock, log: this.log, deadlineMs: this.deadlineMs });
  }

  async write(clip: ClipToWrite): Promise<'written' | 'unsupported'> {
    // Noted before wl-copy runs: the watch may report the change before wl-copy exits.
    const pending = this.ownWrites.get(clip.selection) ?? [];
    const window = OWN_WRITE_WINDOW_FACTOR * this.deadlineMs;
    const entry = { until: this.clock.now() + window };
    pending.push(entry);
    this.ownWrites.set(clip.selection, pending);
    const forget = (): void => {
      const now = this.ownWrites.get(clip.selection) ?? [];
      const at = now.indexOf(entry);
      if (at >= 0) now.splice(at, 1);
    };
    try {
      const outcome = await this.writer.write(clip);
      if (outcome !== 'written') forget();
      else {
        entry.until = this.clock.now() + window; // a large clip took a while: its change comes from now on
        this.holding.add(clip.selection);
      }
      return outcome;
    } catch (err) {
      forget(); // the watcher reads that change, if there was one, and knows it by its fingerprints
      throw err;
    }
  }

  /** True when a change is the one our own wl-copy made (and is still expected). */
  private takeOwnWrite(selection: Selection): boolean {
    const now = this.clock.now();
    const pending = (this.ownWrites.get(selection) ?? []).filter((entry) => entry.until >= now);
    const own = pending.length > 0;
    if (own) pending.shift();
    this.ownWrites.set(selection, pending);
    return own;
  }

  async stop(): Promise<void> {
    const watches = [...this.watches.values()];
    this.watches.clear();
    this.connected.clear();
    await Promise.all([...watches.map((w) => w.stop()), this.writer.stop()]);
  }
}
