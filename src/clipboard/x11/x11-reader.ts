import type { PropertyReply } from 'x11';
import type { Clock } from '../../core/clock.js';
import { fail } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ReadOptions, Representation } from '../backend.js';
import {
  DeadlineError,
  EV_PROPERTY_NOTIFY,
  EV_SELECTION_NOTIFY,
  PROPERTY_NEW_VALUE,
  type XConnection,
} from './x11-connection.js';
import { EventCounter } from './x11-event-counter.js';
import { latin1ToUtf8, planRead } from './x11-targets.js';

/**
 * Reads a selection the ICCCM way: ConvertSelection into a property of our own window, wait for
 * the owner's SelectionNotify, then take the property (or, for INCR, each piece in turn). One read
 * runs at a time; every wait for the owner has a deadline, so a frozen owner fails the read.
 */

/** Properties the owner writes into, used in turn: a request we gave up on may still be answered
 * late, and its SelectionNotify and data then land in a property we no longer listen to. */
const PROPERTY_POOL = 4;
/** TARGETS is a list of atoms; more than this is not a real owner. */
const MAX_TARGETS_BYTES = 64 * 1024;
const ANY_PROPERTY_TYPE = 0;
/** GetProperty's length is a 32-bit count of 4-byte units. */
const MAX_LONG_LENGTH = 0x3fffffff;

type Converted = { type: number; format: number; data: Buffer } | 'refused' | 'too-large';

export class SelectionReader {
  private queue: Promise<unknown> = Promise.resolve();
  private property = 0;

  constructor(
    private readonly conn: XConnection,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** The accepted formats of `selection` (an atom name: CLIPBOARD, PRIMARY), null when it has none. */
  read(selection: string, options: ReadOptions): Promise<Representation[] | null> {
    const run = this.queue.then(() => this.readNow(selection, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(selection: string, options: ReadOptions): Promise<Representation[] | null> {
    const conn = this.conn;
    const selAtom = await conn.atom(selection);
    const owner = await conn.request<number>((cb) => conn.client.GetSelectionOwner(selAtom, cb));
    // Nobody, or clipsync itself: what we offer is a clip the daemon holds already, and reading it
    // back would only copy it through the X server (and fetch a lazy one from its peer).
    if (owner === 0 || owner === conn.window) return null;

    const targets = await this.convert(selAtom, 'TARGETS', MAX_TARGETS_BYTES);
    let names: string[];
    // Some owners type the list TARGETS instead of ATOM; the 32-bit format is what matters.
    if (typeof targets === 'string' || targets.format !== 32) {
      // An owner that cannot list its targets (very old clients) still has text, if anything.
      names = ['UTF8_STRING'];
    } else {
      const atoms: number[] = [];
      for (let i = 0; i + 4 <= targets.data.length; i += 4) atoms.push(targets.data.readUInt32LE(i));
      const resolved = await Promise.all(atoms.map((a) => conn.atomName(a).catch(() => undefined)));
      names = resolved.filter((n): n is string => n !== undefined);
    }

    const formats: Representation[] = [];
    for (const planned of planRead(names, (mime) => options.accept(mime))) {
      const got = await this.convert(selAtom, planned.target, options.maxFormatBytes);
      if (got === 'refused') continue;
      if (got === 'too-large') {
        this.log.info({ target: planned.target, max: options.maxFormatBytes }, 'clipboard format too large, skipped');
        continue;
      }
      formats.push({ mime: planned.mime, data: planned.decoding === 'latin1' ? latin1ToUtf8(got.data) : got.data });
    }
    return formats.length > 0 ? formats : null;
  }

  /** One ConvertSelection and the transfer that follows it. */
  private async convert(selAtom: number, target: string, maxBytes: number): Promise<Converted> {
    const conn = this.conn;
    const win = conn.window;
    const [prop, targetAtom, incrAtom] = await Promise.all([
      conn.atom(`CLIPSYNC_SELECTION_${this.property}`),
      conn.atom(target),
      conn.atom('INCR'),
    ]);
    // Stale bytes from a request abandoned long ago must not be taken for this answer.
    conn.send((c) => c.DeleteProperty(win, prop));
    const notified = conn.waitFor(
      (ev) =>
        ev.type === EV_SELECTION_NOTIFY &&
        ev.requestor === win &&
        ev.selection === selAtom &&
        ev.target === targetAtom &&
        (ev.property === prop || ev.property === 0),
      this.timeoutMs,
    );
    // Listening for INCR pieces starts now: the first may arrive right after SelectionNotify.
    const pieces = new EventCounter(
      conn,
      this.clock,
      (ev) => ev.type === EV_PROPERTY_NOTIFY && ev.wid === win && ev.atom === prop && ev.state === PROPERTY_NEW_VALUE,
    );
    try {
      conn.send((c) => c.ConvertSelection(win, selAtom, targetAtom, prop, 0));
      const ev = await this.owner(notified);
      if (ev.property === 0) return 'refused';
      const head = await this.getProperty(false, prop, 1);
      if (head.type === 0) return 'refused'; // SelectionNotify named a property that is not there
      if (head.type === incrAtom) {
        const lowerBound = head.data.length >= 4 ? head.data.readUInt32LE(0) : 0;
        if (lowerBound > maxBytes) return this.abandon('too-large');
        pieces.reset(); // notifications so far were the INCR property itself
        return await this.readIncr(prop, maxBytes, pieces);
      }
      const size = head.data.length + head.bytesAfter;
      if (size > maxBytes) {
        conn.send((c) => c.DeleteProperty(win, prop));
        return 'too-large';
      }
      const full = await this.getProperty(true, prop, Math.ceil(size / 4));
      return { type: full.type, format: full.format, data: full.data };
    } finally {
      pieces.stop();
    }
  }

  /**
   * INCR (ICCCM §2.7.2): deleting the INCR property asks for the first piece; each piece arrives
   * as a new value of the property, deleting it asks for the next; a zero-length piece ends it.
   */
  private async readIncr(prop: number, maxBytes: number, pieces: EventCounter): Promise<Converted> {
    const conn = this.conn;
    conn.send((c) => c.DeleteProperty(conn.window, prop));
    const chunks: Buffer[] = [];
    let total = 0;
    let type = 0;
    let format = 8;
    for (;;) {
      await this.owner(pieces.next(this.timeoutMs));
      const room = Math.min(MAX_LONG_LENGTH, Math.ceil((maxBytes - total) / 4) + 1);
      // Deleting the piece as we read it is what asks the owner for the next one.
      const piece = await this.getProperty(true, prop, room);
      if (piece.data.length === 0 && piece.bytesAfter === 0) break;
      total += piece.data.length + piece.bytesAfter;
      if (total > maxBytes) {
        conn.send((c) => c.DeleteProperty(conn.window, prop));
        return this.abandon('too-large');
      }
      type = piece.type;
      format = piece.format;
      chunks.push(piece.data);
    }
    return { type, format, data: Buffer.concat(chunks, total) };
  }

  /** Waits for the owner; a deadline turns into the error the daemon reports, and retires the property. */
  private async owner<T>(wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (err) {
      if (!(err instanceof DeadlineError)) throw err;
      this.abandon(undefined);
      throw fail('CLIPSYNC_ERR_CLIPBOARD', `the clipboard owner did not answer within ${err.ms} ms`, {
        hint: 'the application that copied may be frozen; copy again from another application',
      });
    }
  }

  /** Moves on to the next property so that whatever the owner still sends for this request is ignored. */
  private abandon<T>(result: T): T {
    this.property = (this.property + 1) % PROPERTY_POOL;
    return result;
  }

  private getProperty(del: boolean, prop: number, longLength: number): Promise<PropertyReply> {
    const conn = this.conn;
    return conn.request<PropertyReply>((cb) =>
      conn.client.GetProperty(del ? 1 : 0, conn.window, prop, ANY_PROPERTY_TYPE, 0, longLength, cb),
    );
  }
}
