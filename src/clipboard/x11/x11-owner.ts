import type { Readable } from 'node:stream';
import type { XEvent } from 'x11';
import x11 from 'x11';
import type { Clock } from '../../core/clock.js';
import { fail, messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ClipToWrite, OutgoingFormat } from '../backend.js';
import { ByteSource, latin1Stream } from './byte-source.js';
import {
  DeadlineError,
  EV_PROPERTY_NOTIFY,
  EV_SELECTION_CLEAR,
  EV_SELECTION_REQUEST,
  PROPERTY_DELETED,
  PROP_MODE_REPLACE,
  XA_ATOM,
  XA_INTEGER,
  type XConnection,
} from './x11-connection.js';
import { EventCounter } from './x11-event-counter.js';
import { servedTargets, targetsList, type ServedTarget } from './x11-targets.js';

/**
 * Owning a selection and answering other applications' requests for it (ICCCM §2.2–2.7): TARGETS,
 * TIMESTAMP and every format of the clip at once. Bytes come from `format.open()` only when an
 * application asks, so a lazy clip is fetched from its peer on the first paste; anything larger
 * than one property can hold goes out by INCR, piece by piece from the stream.
 */

/** Above this a format goes by INCR even where the server would take it in one request. */
const MAX_SINGLE_PROPERTY = 256 * 1024;

interface Ownership {
  selection: string;
  selAtom: number;
  /** Server time of our SetSelectionOwner: requests from before it are not ours to answer. */
  time: number;
  clip: ClipToWrite;
  targets: Map<string, { served: ServedTarget; format: OutgoingFormat }>;
  targetAtoms: number[];
}

export interface OwnerOptions {
  /** How long a requestor may take to delete an INCR piece before it is dropped. */
  transferTimeoutMs: number;
  /** How long the server may take to answer our own requests (the ownership timestamp). */
  requestTimeoutMs: number;
}

export class SelectionOwner {
  private readonly owned = new Map<number, Ownership>();
  /** Requestor windows we watch for PropertyNotify during INCR, counted per transfer. */
  private readonly watched = new Map<number, number>();
  private active = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly conn: XConnection,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: OwnerOptions,
  ) {
    this.unsubscribe = conn.onEvent((ev) => this.onEvent(ev));
  }

  /** Transfers in progress, for tests and the log. */
  get transfersInProgress(): number {
    return this.active;
  }

  owns(selection: string): boolean {
    return [...this.owned.values()].some((o) => o.selection === selection);
  }

  /** Takes `selection` for `clip`; true once the server confirms we are its owner. */
  async own(selection: string, clip: ClipToWrite): Promise<boolean> {
    const conn = this.conn;
    const served = servedTargets(clip.formats.map((f) => f.mime));
    const byMime = new Map(clip.formats.map((f) => [f.mime, f]));
    const names = targetsList(clip.formats.map((f) => f.mime));
    const [selAtom, targetAtoms] = await Promise.all([conn.atom(selection), Promise.all(names.map((n) => conn.atom(n)))]);
    const time = await conn.serverTime(this.options.requestTimeoutMs);
    const ownership: Ownership = {
      selection,
      selAtom,
      time,
      clip,
      targetAtoms,
      targets: new Map(served.map((s) => [s.target, { served: s, format: byMime.get(s.mime)! }])),
    };
    // Registered first: a requestor may ask the moment the server makes us owner.
    this.owned.set(selAtom, ownership);
    conn.send((c) => c.SetSelectionOwner(conn.window, selAtom, time));
    const owner = await conn.request<number>((cb) => conn.client.GetSelectionOwner(selAtom, cb));
    if (owner !== conn.window) {
      if (this.owned.get(selAtom) === ownership) this.owned.delete(selAtom);
      return false;
    }
    return true;
  }

  stop(): void {
    this.unsubscribe();
    this.owned.clear();
  }

  private onEvent(ev: XEvent): void {
    if (ev.type === EV_SELECTION_REQUEST && ev.owner === this.conn.window) {
      this.serve(ev).catch((err: unknown) => this.log.warn({ err: messageOf(err) }, 'serving a selection request failed'));
    } else if (ev.type === EV_SELECTION_CLEAR && ev.owner === this.conn.window) {
      const own = this.owned.get(ev.selection ?? 0);
      // A clear from before our latest SetSelectionOwner is about an ownership already replaced.
      if (own !== undefined && (ev.time ?? 0) >= own.time) {
        this.owned.delete(own.selAtom);
        this.log.debug({ selection: own.selection }, 'selection ownership lost');
      }
    }
  }

  /** Answers one SelectionRequest; every path ends in a SelectionNotify, refusals included. */
  private async serve(ev: XEvent): Promise<void> {
    const conn = this.conn;
    const requestor = ev.requestor ?? 0;
    const target = ev.target ?? 0;
    // Obsolete requestors pass None and expect the target's name to be used (ICCCM §2.2).
    const property = ev.property === 0 || ev.property === undefined ? target : ev.property;
    const notify = (prop: number): void =>
      conn.send((c) =>
        c.SendEvent(requestor, 0, 0, {
          name: 'SelectionNotify',
          seq: 0,
          time: ev.time ?? 0,
          requestor,
          selection: ev.selection ?? 0,
          target,
          property: prop,
        }),
      );
    const own = this.owned.get(ev.selection ?? 0);
    if (own === undefined || (ev.time !== 0 && (ev.time ?? 0) < own.time)) {
      this.log.debug({ time: ev.time, owned: own?.time }, 'selection request for a selection we do not own; refused');
      return notify(0);
    }

    const name = await conn.atomName(target).catch(() => '');
    this.log.debug({ target: name, requestor, property }, 'selection request');
    if (name === 'TARGETS') {
      conn.send((c) => c.ChangeProperty(PROP_MODE_REPLACE, requestor, property, XA_ATOM, 32, own.targetAtoms));
      return notify(property);
    }
    if (name === 'TIMESTAMP') {
      conn.send((c) => c.ChangeProperty(PROP_MODE_REPLACE, requestor, property, XA_INTEGER, 32, [own.time]));
      return notify(property);
    }
    const entry = own.targets.get(name);
    if (entry === undefined) return notify(0); // MULTIPLE, SAVE_TARGETS, or a type we do not have

    let stream: Readable;
    try {
      stream = await entry.format.open();
    } catch (err) {
      this.log.info({ target: name, err: messageOf(err) }, 'clipboard format could not be opened; request refused');
      return notify(0);
    }
    const opened = stream;
    if (entry.served.encoding === 'latin1') stream = stream.pipe(latin1Stream());
    const source = new ByteSource(stream);
    this.active++;
    try {
      const typeAtom = await conn.atom(entry.served.type);
      await this.send(source, { requestor, property, typeAtom, size: entry.format.size, target: name }, notify);
    } catch (err) {
      // The stream failed before anything was promised to the requestor: refuse instead of hanging it.
      if (err instanceof EarlyFailure) notify(0);
      throw err instanceof EarlyFailure ? err.cause : err;
    } finally {
      this.active--;
      source.destroy();
      // A spool file or a peer fetch behind the STRING conversion must be released as well.
      if (!opened.destroyed) opened.destroy();
    }
  }

  /** Sends one format's bytes: in one property when they fit, otherwise by INCR. */
  private async send(
    source: ByteSource,
    to: { requestor: number; property: number; typeAtom: number; size: number; target: string },
    notify: (prop: number) => void,
  ): Promise<void> {
    const conn = this.conn;
    const limit = Math.min(MAX_SINGLE_PROPERTY, conn.maxPropertyBytes);
    let first: Buffer;
    let second: Buffer;
    try {
      first = await source.take(limit);
      second = first.length < limit ? Buffer.alloc(0) : await source.take(limit);
    } catch (err) {
      throw new EarlyFailure(err);
    }
    if (second.length === 0) {
      conn.send((c) => c.ChangeProperty(PROP_MODE_REPLACE, to.requestor, to.property, to.typeAtom, 8, first));
      return notify(to.property);
    }
    await this.sendIncr(source, to, [first, second], limit, notify);
  }

  /**
   * INCR, owner side (ICCCM §2.7.2): announce with an INCR property holding a lower bound of the
   * size, then write a piece each time the requestor deletes the property, and a zero-length piece
   * to finish. A requestor that stops deleting (gone, or stuck) is dropped after the deadline.
   */
  private async sendIncr(
    source: ByteSource,
    to: { requestor: number; property: number; typeAtom: number; size: number; target: string },
    pending: Buffer[],
    limit: number,
    notify: (prop: number) => void,
  ): Promise<void> {
    const conn = this.conn;
    const incr = await conn.atom('INCR');
    this.watch(to.requestor);
    const deleted = new EventCounter(
      conn,
      this.clock,
      (ev) =>
        ev.type === EV_PROPERTY_NOTIFY && ev.wid === to.requestor && ev.atom === to.property && ev.state === PROPERTY_DELETED,
    );
    const lowerBound = Math.min(0xffffffff, Math.max(to.size, pending.reduce((n, b) => n + b.length, 0)));
    let sent = 0;
    try {
      conn.send((c) => c.ChangeProperty(PROP_MODE_REPLACE, to.requestor, to.property, incr, 32, [lowerBound]));
      notify(to.property);
      for (;;) {
        await deleted.next(this.options.transferTimeoutMs);
        const piece = pending.shift() ?? (await source.take(limit));
        conn.send((c) => c.ChangeProperty(PROP_MODE_REPLACE, to.requestor, to.property, to.typeAtom, 8, piece));
        sent += piece.length;
        if (piece.length === 0) break;
      }
      this.log.debug({ target: to.target, bytes: sent }, 'INCR transfer done');
    } catch (err) {
      if (err instanceof DeadlineError) {
        this.log.info({ target: to.target, sent, requestor: to.requestor }, 'INCR requestor stopped answering; dropped');
        return;
      }
      throw err;
    } finally {
      deleted.stop();
      this.unwatch(to.requestor);
    }
  }

  /** PropertyNotify on a requestor's window is what paces INCR; several transfers may share it. */
  private watch(window: number): void {
    const n = this.watched.get(window) ?? 0;
    this.watched.set(window, n + 1);
    if (n === 0 && window !== this.conn.window) {
      this.conn.send((c) => c.ChangeWindowAttributes(window, { eventMask: x11.eventMask.PropertyChange }));
    }
  }

  private unwatch(window: number): void {
    const n = (this.watched.get(window) ?? 1) - 1;
    if (n > 0) {
      this.watched.set(window, n);
      return;
    }
    this.watched.delete(window);
    // Our own window keeps its mask: the reader and the timestamp depend on it.
    if (window !== this.conn.window) this.conn.send((c) => c.ChangeWindowAttributes(window, { eventMask: 0 }));
  }
}

/** The format's stream failed before the requestor was told anything. */
class EarlyFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause));
  }
}

export function notOwnerError(selection: string): Error {
  return fail('CLIPSYNC_ERR_CLIPBOARD', `could not become the owner of the X ${selection} selection`, {
    hint: 'another application took the selection at the same moment; try again',
  });
}
