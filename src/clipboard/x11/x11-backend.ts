import type { XEvent } from 'x11';
import { systemClock, Timer, type Clock } from '../../core/clock.js';
import { fail, messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type {
  BackendEvents,
  ClipboardBackend,
  ClipboardSnapshot,
  ClipToWrite,
  ReadOptions,
  Selection,
} from '../backend.js';
import { CLIPBOARD_HINT, EV_SELECTION_NOTIFY, openConnection, type XConnection } from './x11-connection.js';
import { notOwnerError, SelectionOwner } from './x11-owner.js';
import { SelectionReader } from './x11-reader.js';

/**
 * The X11 clipboard, spoken to directly over the X protocol: XFixes tells us when a selection
 * changes owner (no polling, nothing runs while the desktop is idle), reads and writes carry every
 * format at once, and a lost display (X server restarted) is reconnected with backoff.
 */

export interface X11BackendOptions {
  /** Deadline for each answer from a selection owner or the server (a read fails after it). */
  requestTimeoutMs?: number;
  /** How long an INCR requestor may take per piece before we stop serving it. */
  transferTimeoutMs?: number;
  /** How long a clipboard manager may take to save our clip when we stop. */
  saveTimeoutMs?: number;
  /** First and largest delay between reconnection attempts. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Why X11 rather than what was tried first (Wayland without data-control), for `status`. */
  passedOver?: string;
}

const SELECTION_ATOMS: Record<Selection, string> = { clipboard: 'CLIPBOARD', primary: 'PRIMARY' };

interface Session {
  conn: XConnection;
  reader: SelectionReader;
  owner: SelectionOwner;
}

export class X11Backend implements ClipboardBackend {
  readonly kind = 'x11' as const;
  readonly hasEvents = true;
  readonly servesLazily = true;
  readonly reason: string;
  private session: Session | undefined;
  private events: BackendEvents | undefined;
  private stopping: Promise<void> | undefined;
  private readonly retry: Timer;
  private retryDelay: number;
  private readonly opts: Required<Omit<X11BackendOptions, 'passedOver'>>;

  private constructor(
    private readonly display: string,
    private readonly log: Logger,
    private readonly clock: Clock,
    options: X11BackendOptions,
    conn: XConnection,
  ) {
    this.opts = {
      requestTimeoutMs: options.requestTimeoutMs ?? 2000,
      transferTimeoutMs: options.transferTimeoutMs ?? 10_000,
      saveTimeoutMs: options.saveTimeoutMs ?? 3000,
      reconnectMinMs: options.reconnectMinMs ?? 250,
      reconnectMaxMs: options.reconnectMaxMs ?? 10_000,
    };
    this.reason = `X11 display ${display} (XFixes)${options.passedOver === undefined ? '' : `, since ${options.passedOver}`}`;
    this.retryDelay = this.opts.reconnectMinMs;
    this.retry = new Timer(clock, () => void this.reconnect());
    this.attach(conn);
  }

  /** Connects to `display`; rejects with CLIPSYNC_ERR_CLIPBOARD when it cannot be used, within the deadline. */
  static async connect(display: string, log: Logger, clock: Clock = systemClock, options: X11BackendOptions = {}): Promise<X11Backend> {
    const conn = await openConnection(display, options.requestTimeoutMs ?? 2000, clock, log);
    return new X11Backend(display, log, clock, options, conn);
  }

  async start(events: BackendEvents): Promise<void> {
    const already = this.events !== undefined;
    this.events = events;
    // A second start only swaps the listener: selecting twice would report every change twice.
    if (!already && this.session !== undefined) await this.selectEvents(this.session.conn);
  }

  async read(selection: Selection, options: ReadOptions): Promise<ClipboardSnapshot | null> {
    const formats = await this.current().reader.read(SELECTION_ATOMS[selection], options);
    return formats === null ? null : { selection, formats, sensitive: false };
  }

  async write(clip: ClipToWrite): Promise<'written' | 'unsupported'> {
    if (clip.formats.length === 0) return 'unsupported';
    const name = SELECTION_ATOMS[clip.selection];
    if (!(await this.current().owner.own(name, clip))) throw notOwnerError(name);
    return 'written';
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.retry.clear();
    const session = this.session;
    if (session === undefined) return;
    try {
      await this.handToClipboardManager(session);
    } catch (err) {
      this.log.info({ err: messageOf(err) }, 'clipboard manager did not take the clipboard');
    }
    this.session = undefined;
    session.owner.stop();
    session.conn.close();
  }

  /**
   * freedesktop ClipboardManager spec: when the owner of CLIPBOARD goes away, it first asks the
   * manager (owner of CLIPBOARD_MANAGER) to convert SAVE_TARGETS, keeps serving while the manager
   * copies every target, and leaves once the manager answers (or the deadline passes).
   */
  private async handToClipboardManager({ conn, owner }: Session): Promise<void> {
    if (!owner.owns('CLIPBOARD') || conn.closed) return;
    const manager = await conn.atom('CLIPBOARD_MANAGER');
    const managerWindow = await conn.request<number>((cb) => conn.client.GetSelectionOwner(manager, cb));
    if (managerWindow === 0) return;
    const [saveTargets, property] = await Promise.all([conn.atom('SAVE_TARGETS'), conn.atom('CLIPSYNC_SAVE')]);
    const time = await conn.serverTime(this.opts.requestTimeoutMs);
    const saved = conn.waitFor(
      (ev) => ev.type === EV_SELECTION_NOTIFY && ev.requestor === conn.window && ev.selection === manager && ev.target === saveTargets,
      this.opts.saveTimeoutMs,
    );
    conn.send((c) => c.ConvertSelection(conn.window, manager, saveTargets, property, time));
    const answer = await saved;
    this.log.info({ saved: answer.property !== 0 }, 'clipboard handed to the clipboard manager');
  }

  private current(): Session {
    if (this.stopping !== undefined) {
      throw fail('CLIPSYNC_ERR_CLIPBOARD', 'the X11 clipboard backend is stopped');
    }
    if (this.session === undefined || this.session.conn.closed) {
      throw fail('CLIPSYNC_ERR_CLIPBOARD', `X display ${this.display} is not connected; reconnecting`, {
        hint: CLIPBOARD_HINT,
      });
    }
    return this.session;
  }

  private attach(conn: XConnection): void {
    const session: Session = {
      conn,
      reader: new SelectionReader(conn, this.clock, this.log, this.opts.requestTimeoutMs),
      owner: new SelectionOwner(conn, this.clock, this.log, {
        transferTimeoutMs: this.opts.transferTimeoutMs,
        requestTimeoutMs: this.opts.requestTimeoutMs,
      }),
    };
    this.session = session;
    conn.onClose((reason) => this.lost(session, reason));
  }

  /** XFixes selection events for both selections: set-owner, owner window destroyed, owner client gone. */
  private async selectEvents(conn: XConnection): Promise<void> {
    const fixes = conn.fixes;
    const mask =
      fixes.SelectionEventMask.SetSelectionOwner |
      fixes.SelectionEventMask.SelectionWindowDestroy |
      fixes.SelectionEventMask.SelectionClientClose;
    const atoms = new Map<number, Selection>();
    for (const selection of ['clipboard', 'primary'] as const) {
      const atom = await conn.atom(SELECTION_ATOMS[selection]);
      atoms.set(atom, selection);
      conn.send(() => fixes.SelectSelectionInput(conn.window, atom, mask));
    }
    conn.onEvent((ev: XEvent) => {
      if (ev.type !== fixes.firstEvent) return;
      const selection = atoms.get(ev.selection ?? 0);
      // Our own SetSelectionOwner: the daemon already knows what it wrote.
      if (selection === undefined || ev.owner === conn.window) return;
      this.events?.changed(selection);
    });
    await conn.request((cb) => conn.client.GetInputFocus(cb)); // selected once the server got this far
  }

  private lost(session: Session, reason: string): void {
    if (this.session !== session) return;
    this.session = undefined;
    session.owner.stop();
    if (this.stopping !== undefined) return;
    this.log.warn({ display: this.display, reason }, 'X display lost; reconnecting');
    this.retryDelay = this.opts.reconnectMinMs;
    this.retry.set(this.retryDelay);
  }

  private async reconnect(): Promise<void> {
    if (this.stopping !== undefined) return;
    let conn: XConnection;
    try {
      conn = await openConnection(this.display, this.opts.requestTimeoutMs, this.clock, this.log);
    } catch (err) {
      this.retryDelay = Math.min(this.retryDelay * 2, this.opts.reconnectMaxMs);
      this.log.debug({ err: messageOf(err), nextMs: this.retryDelay }, 'X display still unreachable');
      if (this.stopping === undefined) this.retry.set(this.retryDelay);
      return;
    }
    if (this.stopping !== undefined) {
      conn.close();
      return;
    }
    this.attach(conn);
    try {
      if (this.events !== undefined) await this.selectEvents(conn);
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'X display reconnected but events could not be selected');
      conn.close(); // a connection without events is no use; its close handler schedules the next attempt
      return;
    }
    this.log.info({ display: this.display }, 'X display reconnected');
    try {
      this.events?.reconnected();
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'reconnected handler failed');
    }
  }
}
