import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClipToWrite, ReadOptions } from '../../../src/clipboard/backend.js';
import { MacosBackend } from '../../../src/clipboard/macos/macos-backend.js';
import type { Clock, TimerHandle } from '../../../src/core/clock.js';
import { isClipsyncError } from '../../../src/core/errors.js';
import { FakeClock } from '../_support/fake-clock.js';
import { captureLog } from '../_support/logger.js';

const FAKE_HELPER = fileURLToPath(new URL('../../helpers/fake-pasteboard-helper.mjs', import.meta.url));
const TEXT = 'text/plain;charset=utf-8';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Messages kept until taken: `take` returns the first unconsumed one that matches, or waits for it. */
class Mailbox<T> {
  private readonly kept: T[] = [];
  private readonly waiters: { match(m: T): boolean; resolve(m: T): void }[] = [];
  /** What was put and not yet taken. */
  pending(): readonly T[] {
    return this.kept;
  }
  put(m: T): void {
    const i = this.waiters.findIndex((w) => w.match(m));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    else this.kept.push(m);
  }
  /** The bound only turns a missing event into a failure naming it, instead of the test's timeout. */
  take(match: (m: T) => boolean = () => true, boundMs = 20_000): Promise<T> {
    const i = this.kept.findIndex(match);
    if (i >= 0) return Promise.resolve(this.kept.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: T) => {
          clearTimeout(bound);
          resolve(m);
        },
      };
      const bound = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`never came: ${match.toString()}`));
      }, boundMs);
      this.waiters.push(waiter);
    });
  }
  peek(match: (m: T) => boolean): T[] {
    return this.kept.filter(match);
  }
}

type Note = { hello?: number; ack?: string; seen?: string; [k: string]: unknown };

/** One run of the fake helper, as the test steers it over its control socket. */
class HelperLink {
  readonly notes = new Mailbox<Note>();
  constructor(private readonly socket: Socket) {
    createInterface({ input: socket }).on('line', (line) => this.notes.put(JSON.parse(line) as Note));
  }
  async hook(hook: Record<string, unknown>): Promise<Note> {
    this.socket.write(JSON.stringify(hook) + '\n');
    return this.notes.take((n) => n.ack === hook['hook']);
  }
  /** A hook with no answer to wait for (exit). */
  fire(hook: Record<string, unknown>): void {
    this.socket.write(JSON.stringify(hook) + '\n');
  }
  seen(op: string): Promise<Note> {
    return this.notes.take((n) => n.seen === op);
  }
  copy(formats: Record<string, string>, flags: Record<string, boolean> = {}): Promise<Note> {
    return this.hook({ hook: 'copy', formats: Object.fromEntries(Object.entries(formats).map(([m, s]) => [m, b64(s)])), ...flags });
  }
}

/** A fake clock that also says when a timer is set, so a test can wait for the backend to schedule one. */
class WatchedClock extends FakeClock implements Clock {
  readonly set = new Mailbox<number>();
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = super.setTimeout(fn, ms);
    this.set.put(ms);
    return handle;
  }
}

interface Setup {
  backend: MacosBackend;
  clock: WatchedClock;
  events: Mailbox<'changed' | 'primary' | 'reconnected'>;
  helpers: Mailbox<HelperLink>;
  /** The helper that is running now. */
  helper: HelperLink;
  /** Resolves once the backend has logged its `n`th helper restart (the restarted helper is in use). */
  restarted(n: number): Promise<void>;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(command?: { command: string; args: string[] }): Promise<Setup> {
  const dir = mkdtempSync(path.join(tmpdir(), 'clipsync-macos-'));
  const socketPath = path.join(dir, 'control.sock');
  const helpers = new Mailbox<HelperLink>();
  const server: Server = createServer((socket) => {
    const link = new HelperLink(socket);
    link.notes.take((n) => n.hello !== undefined).then(() => helpers.put(link), () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const clock = new WatchedClock();
  const captured = captureLog();
  const backend = new MacosBackend({ log: captured.log, clock, command: command ?? { command: process.execPath, args: [FAKE_HELPER, socketPath] } });
  const restarted = async (n: number): Promise<void> => {
    // The helper is a real process: its readiness arrives on a socket, so wait on real time, briefly each turn.
    while (captured.lines.filter((l) => l['msg'] === 'pasteboard helper restarted').length < n) await new Promise((r) => setTimeout(r, 5));
  };
  const events = new Mailbox<'changed' | 'primary' | 'reconnected'>();
  cleanup.push(async () => {
    await backend.stop();
    await new Promise((resolve) => server.close(resolve));
    server.unref();
    rmSync(dir, { recursive: true, force: true });
  });
  const started = backend.start({
    changed: (selection) => events.put(selection === 'clipboard' ? 'changed' : 'primary'),
    reconnected: () => events.put('reconnected'),
  });
  const helper = await helpers.take();
  await started;
  return { backend, clock, events, helpers, helper, restarted };
}

const acceptAll: ReadOptions = { accept: () => true, maxFormatBytes: 1 << 20 };

function clip(id: string, formats: Record<string, string>): ClipToWrite {
  return {
    selection: 'clipboard',
    id,
    local: true,
    formats: Object.entries(formats).map(([mime, s]) => ({ mime, size: Buffer.byteLength(s), open: async () => Readable.from([Buffer.from(s)]) })),
  };
}

const texts = (snapshot: { formats: { mime: string; data: Buffer }[] } | null) =>
  snapshot?.formats.map((f) => [f.mime, f.data.toString()]);

describe('MacosBackend against a fake pasteboard helper', () => {
  it('reports a copy by another app, then reads the accepted formats in the pasteboard order', async () => {
    const { backend, events, helper } = await setup();
    expect(backend).toMatchObject({ kind: 'macos', hasEvents: true, servesLazily: false });
    await helper.copy({ 'text/html': '<b>hi</b>', [TEXT]: 'hi', 'text/rtf': '{\\rtf1 hi}', 'image/png': 'x'.repeat(50) });
    expect(await events.take()).toBe('changed');
    const snapshot = await backend.read('clipboard', { accept: (m) => m !== 'text/rtf', maxFormatBytes: 20 });
    expect(snapshot).toMatchObject({ selection: 'clipboard', sensitive: false });
    // rtf not accepted, the png over maxFormatBytes: both skipped, the rest read.
    expect(texts(snapshot)).toEqual([
      ['text/html', '<b>hi</b>'],
      [TEXT, 'hi'],
    ]);
    expect(await backend.read('primary', acceptAll)).toBeNull(); // macOS has no PRIMARY
  });

  it('writes every format at once with its marker, and does not take its own write for a new copy', async () => {
    const { backend, events, helper } = await setup();
    expect(await backend.write(clip('clip-1', { [TEXT]: 'sent', 'text/html': '<i>sent</i>' }))).toBe('written');
    const state = await helper.hook({ hook: 'state' });
    expect(state['pasteboard']).toEqual({ formats: { [TEXT]: b64('sent'), 'text/html': b64('<i>sent</i>') }, own: 'clip-1' });
    expect(await backend.read('clipboard', acceptAll)).toBeNull();
    // The next event is the next real copy's: the write itself raised none.
    await helper.copy({ [TEXT]: 'later' });
    expect(await events.take()).toBe('changed');
    expect(events.peek(() => true)).toEqual([]);
    expect(texts(await backend.read('clipboard', acceptAll))).toEqual([[TEXT, 'later']]);
  });

  it('answers unsupported for PRIMARY and for formats the pasteboard has no type for', async () => {
    const { backend, helper } = await setup();
    expect(await backend.write({ ...clip('c', { [TEXT]: 'x' }), selection: 'primary' })).toBe('unsupported');
    expect(await backend.write(clip('c', { 'application/x-nothing': 'x', UTF8_STRING: 'x' }))).toBe('unsupported');
    expect((await helper.hook({ hook: 'state' }))['pasteboard']).toEqual({ formats: {} });
  });

  it('reports a concealed copy as sensitive without reading its data', async () => {
    const { backend, events, helper } = await setup();
    await helper.copy({ [TEXT]: 'hunter2' }, { concealed: true });
    await events.take();
    expect(await backend.read('clipboard', acceptAll)).toEqual({ selection: 'clipboard', formats: [], sensitive: true });
    expect((await helper.hook({ hook: 'state' }))['reads']).toBe(0);
  });

  it('skips transient and auto-generated copies: not a user copy', async () => {
    const { backend, events, helper } = await setup();
    for (const flag of ['transient', 'autoGenerated']) {
      await helper.copy({ [TEXT]: flag }, { [flag]: true });
      await events.take();
      expect(await backend.read('clipboard', acceptAll)).toBeNull();
    }
    expect((await helper.hook({ hook: 'state' }))['reads']).toBe(0);
  });

  it('reads a TIFF-only screenshot as PNG, converted once for repeated reads', async () => {
    const { backend, events, helper } = await setup();
    await helper.hook({ hook: 'screenshot', tiff: b64('TIFFDATA') });
    await events.take();
    const first = await backend.read('clipboard', acceptAll);
    expect(texts(first)).toEqual([['image/png', 'PNG:TIFFDATA']]);
    expect(await backend.read('clipboard', acceptAll)).toEqual(first);
    expect((await helper.hook({ hook: 'state' }))['conversions']).toBe(1);
  });

  it('kills a frozen helper at the deadline, rejects, restarts it, and the next read works', async () => {
    const { backend, clock, events, helpers, helper, restarted } = await setup();
    await helper.hook({ hook: 'freeze' });
    const reading = backend.read('clipboard', acceptAll);
    const outcome = reading.then(
      () => 'resolved',
      (err: unknown) => (isClipsyncError(err) ? err.code : String(err)),
    );
    await helper.seen('types');
    await clock.advance(2000);
    expect(await outcome).toBe('CLIPSYNC_ERR_CLIPBOARD');
    await clock.set.take((ms) => ms === 250); // the restart, on the clock
    await clock.advance(250);
    const next = await helpers.take();
    await restarted(1); // no `reconnected`: the system pasteboard kept its contents
    await next.copy({ [TEXT]: 'after restart' });
    expect(await events.take()).toBe('changed');
    expect(texts(await backend.read('clipboard', acceptAll))).toEqual([[TEXT, 'after restart']]);
  });

  it('restarts a helper that exits, with growing backoff, and holds requests meanwhile', async () => {
    const { backend, clock, events, helpers, helper, restarted } = await setup();
    helper.fire({ hook: 'exit', code: 3 });
    await clock.set.take((ms) => ms === 250);
    const reading = backend.read('clipboard', acceptAll); // made while no helper runs
    await clock.advance(250);
    const second = await helpers.take();
    await restarted(1);
    expect(await reading).toBeNull(); // the new helper's pasteboard is empty
    // No request succeeded since? Then backoff would grow; this one did, so it starts over.
    second.fire({ hook: 'exit', code: 3 });
    await clock.set.take((ms) => ms === 250);
    await clock.advance(250);
    const third = await helpers.take();
    await restarted(2);
    expect(events.pending()).not.toContain('reconnected');
    third.fire({ hook: 'exit', code: 3 });
    await clock.set.take((ms) => ms === 500); // third helper answered nothing: backoff doubles
  });

  it('fails start when the helper cannot run at all', async () => {
    const clock = new FakeClock();
    const backend = new MacosBackend({ log: captureLog().log, clock, command: { command: '/nonexistent/osascript', args: [] } });
    const err = await backend.start({ changed: () => undefined, reconnected: () => undefined }).catch((e: unknown) => e);
    expect(isClipsyncError(err) && err.code).toBe('CLIPSYNC_ERR_CLIPBOARD');
    await backend.stop();
    await backend.stop(); // idempotent
    expect(clock.pendingTimers).toBe(0); // no restart after a failed start
  });
});
