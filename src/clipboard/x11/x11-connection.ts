import net from 'node:net';
import x11 from 'x11';
import type { FixesExt, XClient, XEvent, XError } from 'x11';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { fail } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

/**
 * One connection to an X server, made safe to use from promises: every request either answers or
 * rejects (the `x11` package forgets pending callbacks when the socket dies, which would leave a
 * read hanging forever), atoms are cached, events go to listeners that may throw without killing
 * the parser, and every wait has a deadline on the injected clock.
 */

export const XA_ATOM = 4;
export const XA_INTEGER = 19;
export const PROP_MODE_REPLACE = 0;
export const PROP_MODE_APPEND = 2;
export const PROPERTY_NEW_VALUE = 0;
export const PROPERTY_DELETED = 1;
/** Core event numbers (X11 protocol §Events). */
export const EV_PROPERTY_NOTIFY = 28;
export const EV_SELECTION_CLEAR = 29;
export const EV_SELECTION_REQUEST = 30;
export const EV_SELECTION_NOTIFY = 31;

const INPUT_ONLY = 2;
/** ChangeProperty is packed with a 16-bit length by the `x11` package, so BIG-REQUESTS never applies to it. */
const CORE_MAX_REQUEST_BYTES = 65535 * 4;

export const CLIPBOARD_HINT = 'check DISPLAY, or install an X server / run clipsync inside your X session';

type EventListener = (ev: XEvent) => void;

export class XConnection {
  readonly root: number;
  /** The backend's own window: conversion target, property scratch space, and the selection owner. */
  readonly window: number;
  /** The largest property one ChangeProperty can carry on this server. */
  readonly maxPropertyBytes: number;
  private readonly atoms = new Map<string, Promise<number>>();
  private readonly names = new Map<number, Promise<string>>();
  private readonly listeners = new Set<EventListener>();
  private readonly pending = new Set<(err: Error) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private closedReason: string | undefined;

  constructor(
    readonly display: string,
    readonly client: XClient,
    private readonly socket: net.Socket,
    readonly fixes: FixesExt,
    window: number,
    coreMaxRequestWords: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** How long the server itself may take to answer a request: a stopped or wedged X server must not hold the daemon. */
    private readonly requestDeadlineMs: number,
  ) {
    this.root = client.display.screen[0]!.root;
    this.window = window;
    this.maxPropertyBytes = Math.min(CORE_MAX_REQUEST_BYTES, coreMaxRequestWords * 4) - 32;
    client.on('event', (ev) => this.dispatch(ev));
    // An X error for a request sent without a callback (a requestor window that vanished while we
    // wrote to it) is routine on a desktop; without this listener it would be thrown.
    client.on('error', (err) => this.log.debug({ err: describeXError(err) }, 'X error'));
    socket.on('close', () => this.markClosed('the X connection closed'));
    socket.on('error', (err) => this.markClosed(`the X connection failed: ${err.message}`));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  onEvent(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onClose(fn: (reason: string) => void): () => void {
    if (this.closedReason !== undefined) {
      fn(this.closedReason);
      return () => undefined;
    }
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  /** Sends a request with a reply; rejects when the server answers with an error or the connection dies. */
  request<T>(issue: (cb: (err: XError | null | undefined, value: T) => boolean) => void): Promise<T> {
    if (this.closedReason !== undefined) return Promise.reject(this.closedError());
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(onClose);
        reject(new DeadlineError(this.requestDeadlineMs)); // a late reply later finds nobody waiting
      }, this.requestDeadlineMs);
      const onClose = (err: Error): void => {
        this.clock.clearTimeout(timer);
        reject(err);
      };
      this.pending.add(onClose);
      try {
        issue((err, value) => {
          this.pending.delete(onClose);
          this.clock.clearTimeout(timer);
          if (err) reject(new Error(describeXError(err)));
          else resolve(value);
          return true; // handled: the package must not re-emit it as 'error'
        });
      } catch (err) {
        this.pending.delete(onClose);
        this.clock.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Fire-and-forget request; its X errors end up in the 'error' log line, a dead socket is ignored. */
  send(issue: (client: XClient) => void): void {
    if (this.closedReason !== undefined) return;
    try {
      issue(this.client);
    } catch (err) {
      this.log.debug({ err }, 'X request not sent');
    }
  }

  atom(name: string): Promise<number> {
    let atom = this.atoms.get(name);
    if (atom === undefined) {
      atom = this.request<number>((cb) => this.client.InternAtom(false, name, cb));
      atom.catch(() => this.atoms.delete(name));
      this.atoms.set(name, atom);
      void atom.then((id) => this.names.set(id, Promise.resolve(name)));
    }
    return atom;
  }

  atomName(atom: number): Promise<string> {
    let name = this.names.get(atom);
    if (name === undefined) {
      name = this.request<string>((cb) => this.client.GetAtomName(atom, cb));
      name.catch(() => this.names.delete(atom));
      this.names.set(atom, name);
    }
    return name;
  }

  /**
   * A real server timestamp, as ICCCM wants for SetSelectionOwner (CurrentTime lets a late
   * request steal the selection back): append nothing to a property of our window and take the
   * time of the PropertyNotify that the server sends for it.
   */
  async serverTime(timeoutMs: number): Promise<number> {
    const atom = await this.atom('CLIPSYNC_TIMESTAMP');
    const notified = this.waitFor(
      (ev) => ev.type === EV_PROPERTY_NOTIFY && ev.wid === this.window && ev.atom === atom,
      timeoutMs,
    );
    this.send((c) => c.ChangeProperty(PROP_MODE_APPEND, this.window, atom, XA_INTEGER, 32, Buffer.alloc(0)));
    try {
      return (await notified).time ?? 0;
    } catch (err) {
      if (!(err instanceof DeadlineError)) throw err;
      throw fail('CLIPSYNC_ERR_CLIPBOARD', `the X server did not answer within ${err.ms} ms`, { hint: CLIPBOARD_HINT });
    }
  }

  /**
   * The next event `match` accepts, or a rejection after `timeoutMs` (message says so) or when the
   * connection dies. `cancel` lets the caller stop waiting early.
   */
  waitFor(match: (ev: XEvent) => boolean, timeoutMs: number): Promise<XEvent> & { cancel(): void } {
    let cancel: () => void = () => undefined;
    const promise = new Promise<XEvent>((resolve, reject) => {
      if (this.closedReason !== undefined) {
        reject(this.closedError());
        return;
      }
      let timer: TimerHandle | undefined;
      const cleanup = (): void => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        this.listeners.delete(listener);
        this.pending.delete(onClose);
      };
      const listener: EventListener = (ev) => {
        if (!match(ev)) return;
        cleanup();
        resolve(ev);
      };
      const onClose = (err: Error): void => {
        cleanup();
        reject(err);
      };
      timer = this.clock.setTimeout(() => {
        cleanup();
        reject(new DeadlineError(timeoutMs));
      }, timeoutMs);
      this.listeners.add(listener);
      this.pending.add(onClose);
      cancel = () => {
        cleanup();
        reject(new Error('cancelled'));
      };
    });
    promise.catch(() => undefined); // the caller may cancel without awaiting
    return Object.assign(promise, { cancel: () => cancel() });
  }

  /** Closes the socket; pending requests and waits reject. */
  close(): void {
    this.markClosed('the X connection was closed by clipsync');
    this.socket.destroy();
  }

  private dispatch(ev: XEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(ev);
      } catch (err) {
        // Whatever the desktop sends, a bad event must never take the daemon down.
        this.log.warn({ err, event: ev.name }, 'X event handler failed');
      }
    }
  }

  private markClosed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const err = this.closedError();
    for (const reject of [...this.pending]) reject(err);
    this.pending.clear();
    this.listeners.clear();
    for (const fn of this.closeListeners) {
      try {
        fn(reason);
      } catch (e) {
        this.log.warn({ err: e }, 'X close handler failed');
      }
    }
    this.closeListeners.clear();
  }

  private closedError(): Error {
    return fail('CLIPSYNC_ERR_CLIPBOARD', `X display ${this.display} is not connected (${this.closedReason})`, {
      hint: CLIPBOARD_HINT,
    });
  }
}

/** A wait that ran out of time; callers turn it into their own message. */
export class DeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

export function describeXError(err: Error): string {
  const x = err as Partial<XError>;
  return x.error === undefined
    ? err.message
    : `X error ${x.error} (${err.message}) for request ${x.majorOpcode}.${x.minorOpcode}, value ${x.badParam}`;
}

/**
 * Opens `display` and sets up what the backend needs (XFixes, its own window), all within
 * `timeoutMs`: a socket whose server is stopped or wedged would otherwise leave the `x11` package
 * waiting forever. The socket is made here, not by the package, so that it can be destroyed.
 */
export async function openConnection(display: string, timeoutMs: number, clock: Clock, log: Logger): Promise<XConnection> {
  const unreachable = (why: string, cause?: unknown): Error =>
    fail('CLIPSYNC_ERR_CLIPBOARD', `cannot use X display ${display || '(unset)'}: ${why}`, {
      hint: CLIPBOARD_HINT,
      cause,
    });
  let parsed: ReturnType<typeof x11.parseDisplay>;
  try {
    parsed = x11.parseDisplay(display);
  } catch (err) {
    throw unreachable('DISPLAY is not of the form [host]:N', err);
  }
  const socket = connectSocket(parsed.host, Number(parsed.displayNum), parsed.protocol);
  socket.on('error', () => undefined); // reported through the setup callback or the close below

  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(unreachable(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const setup = (async () => {
    const { client, coreMaxWords } = await new Promise<{ client: XClient; coreMaxWords: number }>((resolve, reject) => {
      let coreMaxWords = 65535;
      // The package replaces max_request_length with the BIG-REQUESTS value after 'connect'.
      const client: XClient = x11.createClient({ stream: socket, auth: undefined }, (err) => {
        if (err) reject(unreachable(err.message, err));
        else resolve({ client, coreMaxWords });
      });
      client.on('error', (err) => reject(unreachable(err.message, err)));
      (client as unknown as { once(e: 'connect', fn: (d: { max_request_length: number }) => void): void }).once(
        'connect',
        (d) => {
          coreMaxWords = d.max_request_length;
          privateAtomCache(client);
        },
      );
      socket.once('close', () => reject(unreachable('the server closed the connection')));
    });
    const fixes = await new Promise<FixesExt>((resolve, reject) =>
      client.require('fixes', (err, ext) => (err ? reject(unreachable('the XFixes extension is missing', err)) : resolve(ext))),
    );
    client.removeAllListeners('error');
    const window = client.AllocID();
    const root = client.display.screen[0]!.root;
    // InputOnly, never mapped: it exists to own selections and receive properties.
    client.CreateWindow(window, root, -10, -10, 1, 1, 0, 0, INPUT_ONLY, 0, { eventMask: x11.eventMask.PropertyChange });
    const conn = new XConnection(display, client, socket, fixes, window, coreMaxWords, clock, log, timeoutMs);
    await conn.request((cb) => client.GetInputFocus(cb)); // the window exists once this answers
    return conn;
  })();
  try {
    return await Promise.race([setup, timeout]);
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
  }
}

/** Atoms 1–68 are predefined by the protocol and the same on every server. */
const LAST_PREDEFINED_ATOM = 68;

/**
 * The `x11` package caches interned atoms in one object shared by every client in the process, so
 * after the X server restarts (or with two servers) a connection would be handed atom numbers from
 * another server. Give this client its own cache, seeded with only the predefined atoms.
 */
function privateAtomCache(client: XClient): void {
  const c = client as unknown as { atoms: Record<string, number>; atom_names: Record<number, string> };
  const atoms: Record<string, number> = {};
  const names: Record<number, string> = {};
  for (const [name, id] of Object.entries(c.atoms)) {
    if (id > LAST_PREDEFINED_ATOM) continue;
    atoms[name] = id;
    names[id] = name;
  }
  c.atoms = atoms;
  c.atom_names = names;
}

function connectSocket(host: string, displayNum: number, protocol: string): net.Socket {
  const local = host === '' || host === 'unix' || protocol === 'unix' || protocol === 'local';
  return local ? net.createConnection(`/tmp/.X11-unix/X${displayNum}`) : net.createConnection(6000 + displayNum, host);
}
