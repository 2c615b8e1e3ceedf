import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClipboardBackend, Representation, Selection } from './backend.js';
import { copyFingerprints, isSensitive, type FormatPolicy } from './formats.js';

/** What the watcher hands the daemon: a new copy made on this machine. */
export interface LocalCopy {
  selection: Selection;
  formats: Representation[];
  /** True for what the clipboard held when the daemon started (older than any copy). */
  initial: boolean;
  /** Marked secret by a password manager and still synced (config `sendSensitive`): never kept in history. */
  sensitive: boolean;
  /** A file manager's copy of local files: sent as a files clip of these paths. */
  files?: { paths: string[]; cut: boolean };
}

export interface WatcherStats {
  /** Copies a password manager marked secret, skipped (never read whole, never sent). */
  sensitiveSkipped: number;
  lastSensitiveAt: string | null;
}

/**
 * Notices copies made on this machine. Backends with change events (X11, Wayland, macOS) say
 * when to read; only the text fallback is polled. Reads are one at a time, and a change that
 * arrives during a read is read again after it, so the last copy is never missed. What
 * clipsync wrote itself, or what an app re-offers of it (other type names, CRLF), is not a
 * new copy: that would echo every received clip back out.
 */
export class ClipboardWatcher {
  private readonly dirty = new Set<Selection>();
  private reading: Promise<void> | undefined;
  /** The selection being read right now, if any. */
  private readingNow: Selection | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private failing = false;
  /** Fingerprints of the last clip on each selection, seen or written by clipsync. */
  private readonly known = new Map<Selection, Set<string>>();
  readonly stats: WatcherStats = { sensitiveSkipped: 0, lastSensitiveAt: null };
  /** Told of each copy skipped as secret (a notice for the user, when asked for). */
  onSensitive: (() => void) | undefined;

  constructor(
    private readonly backend: ClipboardBackend,
    private readonly policy: FormatPolicy,
    private readonly selections: readonly Selection[],
    private readonly onCopy: (copy: LocalCopy) => void,
    private readonly onReconnected: () => void,
    private readonly log: Logger,
    private readonly pollIntervalMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  async start(): Promise<void> {
    await this.backend.start({
      changed: (selection) => this.markChanged(selection),
      reconnected: () => {
        this.log.info({ backend: this.backend.kind }, 'clipboard reachable again; offering the current clip');
        this.onReconnected();
      },
    });
    // What each selection holds at start is read once as `initial`; a copy made while that
    // read runs is a change like any later one, read after it.
    this.reading = (async () => {
      for (const selection of this.selections) await this.readOnce(selection, true);
    })().finally(() => {
      this.reading = undefined;
    });
    await this.reading;
    if (this.dirty.size > 0) this.reading = this.drainOnce();
    if (!this.backend.hasEvents) this.schedulePoll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.reading?.catch(() => undefined);
    await this.backend.stop();
  }

  /** Records what clipsync put on a selection itself, so reading it back is not a new copy. */
  noteWritten(selection: Selection, formats: readonly { mime: string; data: Buffer }[]): void {
    this.noteFingerprints(selection, copyFingerprints(formats));
  }

  /** The same, for a clip too large to hold: its fingerprints (formats.ts) computed as it streamed. */
  noteFingerprints(selection: Selection, prints: readonly string[]): void {
    this.known.set(selection, new Set(prints));
  }

  /**
   * Resolves once every change reported so far has been read: before a received clip is put on
   * the clipboard (a copy made meanwhile must win). `fresh` reads the clipboard now as well,
   * for `paste`: a copy made a moment ago counts even if its event is still on its way.
   */
  async settled(fresh = false, only?: Selection): Promise<void> {
    const mine = only === undefined ? this.selections : this.selections.filter((s) => s === only);
    if (fresh || !this.backend.hasEvents) for (const selection of mine) this.dirty.add(selection);
    // Only the selection asked about: a CLIPBOARD write must not wait out a stream of PRIMARY changes.
    const pending = (): boolean => mine.some((s) => this.dirty.has(s) || this.readingNow === s);
    while (pending()) {
      if (this.reading === undefined) this.reading = this.drainOnce();
      await this.reading;
    }
  }

  private markChanged(selection: Selection): void {
    if (this.stopped || !this.selections.includes(selection)) return;
    this.dirty.add(selection);
    this.reading ??= this.drainOnce();
  }

  private drainOnce(): Promise<void> {
    return this.drain().finally(() => {
      this.reading = undefined;
      if (this.dirty.size > 0 && !this.stopped) this.reading = this.drainOnce();
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const [selection] = this.dirty;
      this.dirty.delete(selection!);
      await this.readOnce(selection!, false);
    }
  }

  private async readOnce(selection: Selection, initial: boolean): Promise<void> {
    this.readingNow = selection;
    try {
      await this.readAndJudge(selection, initial);
    } finally {
      this.readingNow = undefined;
    }
  }

  private async readAndJudge(selection: Selection, initial: boolean): Promise<void> {
    let snapshot;
    try {
      snapshot = await this.backend.read(selection, this.policy.readOptions());
    } catch (err) {
      // Logged once per outage: a frozen owner must not flood the log, nor stop other work.
      if (!this.failing) this.log.warn({ selection, reason: messageOf(err) }, 'cannot read the clipboard; skipped this copy');
      this.failing = true;
      return;
    }
    if (this.failing) this.log.info({ selection }, 'clipboard readable again');
    this.failing = false;
    // Changed again while it was read: the type list and the bytes may come from two copies (a
    // user name, then the password with its secret hint). Only the read after the last change counts.
    if (this.dirty.has(selection)) return;
    if (snapshot === null) return;
    const judged = this.policy.judge(snapshot);
    if (judged.kind === 'sensitive') {
      this.stats.sensitiveSkipped += 1;
      this.stats.lastSensitiveAt = new Date(this.clock.now()).toISOString();
      this.known.delete(selection); // the secret replaced whatever was there
      this.log.info({ selection }, 'a copy marked secret by a password manager was skipped (not sent, not kept)');
      this.onSensitive?.();
      return;
    }
    if (judged.kind === 'empty') {
      if (judged.skipped.length > 0) this.log.info({ selection, skipped: judged.skipped }, 'copy has no format that travels (or each is over its cap); not sent');
      return;
    }
    if (judged.skipped.length > 0) this.log.debug({ selection, skipped: judged.skipped }, 'formats left out of a copy');
    const prints = copyFingerprints(judged.formats);
    const known = this.known.get(selection);
    if (known !== undefined && prints.every((p) => known.has(p))) {
      this.log.debug({ selection }, 'clipboard re-offers the last clip; not a new copy');
      return;
    }
    this.known.set(selection, new Set(prints));
    this.onCopy({ selection, formats: judged.formats, initial, sensitive: isSensitive(snapshot), ...(judged.files !== undefined ? { files: judged.files } : {}) });
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.markChanged('clipboard');
      void (this.reading ?? Promise.resolve()).finally(() => this.schedulePoll());
    }, this.pollIntervalMs);
  }
}
