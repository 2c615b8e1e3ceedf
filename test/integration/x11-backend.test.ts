import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutgoingFormat, ReadOptions, Selection } from '../../src/clipboard/backend.js';
import { X11Backend } from '../../src/clipboard/x11/x11-backend.js';
import {
  EV_SELECTION_NOTIFY,
  EV_SELECTION_REQUEST,
  openConnection,
  PROP_MODE_REPLACE,
  XA_ATOM,
} from '../../src/clipboard/x11/x11-connection.js';
import { SelectionOwner } from '../../src/clipboard/x11/x11-owner.js';
import { SelectionReader } from '../../src/clipboard/x11/x11-reader.js';
import type { Representation } from '../../src/clipboard/backend.js';
import { systemClock } from '../../src/core/clock.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { Xvfb } from '../helpers/xvfb.js';

const skip = skipUnlessTools({ Xvfb: 'xvfb', xclip: 'xclip' });
const log = pino({ level: process.env['CLIPSYNC_LOG_LEVEL'] ?? 'silent' });
const TEXT = 'text/plain;charset=utf-8';
const MiB = 1024 * 1024;
const acceptAll: ReadOptions = { accept: () => true, maxFormatBytes: 64 * MiB };

/** Polls `check` with short waits until it holds, failing after a generous bound (no fixed sleeps). */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function memoryFormat(mime: string, data: Buffer | string): OutgoingFormat {
  const bytes = Buffer.from(data);
  return { mime, size: bytes.length, open: async () => Readable.from([bytes]) };
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic bytes, produced only as they are pulled: serving never needs them all at once. */
function generated(size: number, seed: number): Readable {
  let produced = 0;
  let state = seed >>> 0;
  return new Readable({
    read() {
      if (produced >= size) return void this.push(null);
      const n = Math.min(64 * 1024, size - produced);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        chunk.writeUInt32LE(state, i);
      }
      produced += n;
      this.push(chunk);
    },
  });
}

async function shaOfStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe.skipIf(skip)('X11Backend against a real X server (Xvfb) with xclip as the other application', () => {
  let xvfb: Xvfb;
  let backend: X11Backend;
  let dir: string;
  const changes: Selection[] = [];
  const children = new Set<ChildProcess>();

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, ...xvfb.env() });

  /** An xclip that owns CLIPBOARD in the foreground (-quiet), so the test can stop and kill it. */
  async function xclipOwner(args: string[], input?: Buffer | string): Promise<ChildProcess> {
    const before = changes.length;
    const child = spawn('xclip', ['-quiet', '-selection', 'clipboard', '-i', ...args], {
      env: env(),
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    if (input !== undefined) child.stdin!.end(input);
    await until(() => changes.length > before, 'xclip to own the clipboard');
    return child;
  }

  /** What xclip reads for `target`, its stdout into a file so large transfers cost this process nothing. */
  async function xclipOut(target: string): Promise<{ code: number | null; file: string }> {
    const file = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(file, 'w');
    const child = spawn('xclip', ['-selection', 'clipboard', '-o', '-t', target], { env: env(), stdio: ['ignore', fd, 'ignore'] });
    children.add(child);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    children.delete(child);
    closeSync(fd);
    return { code, file };
  }

  async function xclipOutText(target: string): Promise<string> {
    const { code, file } = await xclipOut(target);
    expect(code).toBe(0);
    return (await shaOrRead(file)).toString('utf8');
  }

  /**
   * A second X11Backend, the other application for multi-format tests. It owns CLIPBOARD when it
   * stops, so wait for the change that its going away causes before the next test counts changes.
   */
  async function withOtherBackend(fn: (other: X11Backend) => Promise<void>): Promise<void> {
    const other = await X11Backend.connect(xvfb.display, log);
    try {
      await fn(other);
    } finally {
      const before = changes.length;
      await other.stop();
      await until(() => changes.length > before, 'the change when the other backend leaves');
    }
  }

  async function shaOrRead(file: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(file)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clipsync-x11-'));
    xvfb = await Xvfb.start();
    backend = await X11Backend.connect(xvfb.display, log, systemClock, { requestTimeoutMs: 2000, transferTimeoutMs: 20_000 });
    await backend.start({ changed: (s) => changes.push(s), reconnected: () => undefined });
  });

  afterAll(async () => {
    await backend?.stop();
    for (const child of children) child.kill('SIGKILL');
    await xvfb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the display and XFixes as the reason', () => {
    expect(backend.reason).toBe(`X11 display ${xvfb.display} (XFixes)`);
    expect([backend.kind, backend.hasEvents, backend.servesLazily]).toEqual(['x11', true, true]);
  });

  it('reads text from an xclip owner, once, as UTF-8, and reports the copy as a change', async () => {
    await xclipOwner([], 'héllo wörld ✓');
    expect(changes.at(-1)).toBe('clipboard');
    const snap = await backend.read('clipboard', acceptAll);
    expect(snap).not.toBeNull();
    expect(snap!.sensitive).toBe(false);
    expect(snap!.formats.map((f) => f.mime)).toEqual([TEXT]);
    expect(snap!.formats[0]!.data.toString('utf8')).toBe('héllo wörld ✓');
  });

  it('returns null when no format is accepted', async () => {
    await xclipOwner([], 'plain');
    expect(await backend.read('clipboard', { accept: () => false, maxFormatBytes: MiB })).toBeNull();
  });

  it('offers every format of a write at once, checked by xclip, and does not report its own write', async () => {
    const html = '<b>bold</b> and ✓';
    const before = changes.length;
    const result = await backend.write({
      selection: 'clipboard',
      id: 'c1',
      local: true,
      formats: [memoryFormat('text/html', html), memoryFormat(TEXT, 'bold and ✓')],
    });
    expect(result).toBe('written');
    // Our own XFixes event reaches us before the ownership check in write() is answered.
    expect(changes.length).toBe(before);
    const targets = (await xclipOutText('TARGETS')).split('\n').filter(Boolean);
    expect(targets).toEqual(expect.arrayContaining(['TARGETS', 'TIMESTAMP', 'text/html', TEXT, 'UTF8_STRING', 'STRING', 'TEXT']));
    expect(await xclipOutText('text/html')).toBe(html);
    expect(await xclipOutText('UTF8_STRING')).toBe('bold and ✓');
    expect(Buffer.from(await xclipOutText('STRING'), 'binary').length).toBeGreaterThan(0);
    expect(changes.length).toBe(before);
  });

  it('reads HTML and text offered together by another X11Backend', async () => {
    await withOtherBackend(async (other) => {
      const before = changes.length;
      await other.write({
        selection: 'clipboard',
        id: 'c2',
        local: true,
        formats: [memoryFormat('text/html', '<i>x</i>'), memoryFormat(TEXT, 'x')],
      });
      await until(() => changes.length > before, 'the change event for the other backend');
      expect(await xclipOutText('text/html')).toBe('<i>x</i>');
      const snap = await backend.read('clipboard', acceptAll);
      expect(snap!.formats.map((f) => [f.mime, f.data.toString()])).toEqual([
        ['text/html', '<i>x</i>'],
        [TEXT, 'x'],
      ]);
    });
  });

  it('moves a PNG byte-exact both ways', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(200_000)]);
    const file = join(dir, 'small.png');
    writeFileSync(file, png);
    await xclipOwner(['-t', 'image/png', file]);
    const snap = await backend.read('clipboard', { accept: (m) => m === 'image/png', maxFormatBytes: MiB });
    expect(snap!.formats).toHaveLength(1);
    expect(sha(snap!.formats[0]!.data)).toBe(sha(png));

    await backend.write({ selection: 'clipboard', id: 'png', local: true, formats: [memoryFormat('image/png', png)] });
    const out = await xclipOut('image/png');
    expect(out.code).toBe(0);
    expect(sha(await shaOrRead(out.file))).toBe(sha(png));
  });

  it('skips a format larger than maxFormatBytes and still reads the others', async () => {
    await withOtherBackend(async (other) => {
      const before = changes.length;
      await other.write({
        selection: 'clipboard',
        id: 'big',
        local: true,
        formats: [memoryFormat('image/png', randomBytes(600_000)), memoryFormat(TEXT, 'small')],
      });
      await until(() => changes.length > before, 'the change event');
      const snap = await backend.read('clipboard', { accept: () => true, maxFormatBytes: 100_000 });
      expect(snap!.formats.map((f) => f.mime)).toEqual([TEXT]);
      // And the owner is still fine for the next read.
      const again = await backend.read('clipboard', acceptAll);
      expect(again!.formats.map((f) => f.mime)).toEqual(['image/png', TEXT]);
    });
  });

  it('reads a 30 MiB image that xclip sends by INCR', async () => {
    const size = 30 * MiB;
    const file = join(dir, 'big.png');
    writeFileSync(file, Buffer.concat(await Readable.from(generated(size, 7)).toArray()));
    const expected = await shaOfStream(generated(size, 7));
    await xclipOwner(['-t', 'image/png', file]);
    const snap = await backend.read('clipboard', { accept: (m) => m === 'image/png', maxFormatBytes: 64 * MiB });
    expect(snap!.formats[0]!.data.length).toBe(size);
    expect(sha(snap!.formats[0]!.data)).toBe(expected);
    rmSync(file);
  });

  it('serves a 30 MiB image by INCR from a stream, byte-exact, without holding it in memory', async () => {
    const size = 30 * MiB;
    const expected = await shaOfStream(generated(size, 11));
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let peak = 0;
    const live = (): number => {
      // Twice: the first collection frees the objects, the second their array buffers' memory.
      gc();
      gc();
      return process.memoryUsage().arrayBuffers;
    };
    const baseline = live();
    const sampler = setInterval(() => (peak = Math.max(peak, live() - baseline)), 50);
    try {
      await backend.write({
        selection: 'clipboard',
        id: 'huge',
        local: true,
        formats: [{ mime: 'image/png', size, open: async () => generated(size, 11) }],
      });
      const out = await xclipOut('image/png');
      expect(out.code).toBe(0);
      expect(await shaOfStream(createReadStream(out.file))).toBe(expected);
      rmSync(out.file);
    } finally {
      clearInterval(sampler);
    }
    // Whole-format buffering measures 30 MiB and more here; streaming about one piece (~1 MiB).
    expect(peak).toBeLessThan(8 * MiB);
  });

  it('serves a lazy format whose open() resolves later, and refuses one whose open() fails', async () => {
    let opened = 0;
    await backend.write({
      selection: 'clipboard',
      id: 'lazy',
      local: false,
      formats: [
        {
          mime: TEXT,
          size: 4,
          open: () =>
            new Promise((resolve) => {
              opened++;
              // Stands in for fetching the bytes from a peer.
              setTimeout(() => resolve(Readable.from([Buffer.from('lazy')])), 1500);
            }),
        },
        { mime: 'text/html', size: 3, open: () => Promise.reject(new Error('peer gone')) },
      ],
    });
    expect(opened).toBe(0);
    expect(await xclipOutText('UTF8_STRING')).toBe('lazy');
    expect(opened).toBe(1);
    expect((await xclipOut('text/html')).code).not.toBe(0);
  });

  it('rejects a read within the deadline when the owner is frozen, then reads again', async () => {
    const owner = await xclipOwner([], 'frozen');
    owner.kill('SIGSTOP');
    try {
      await expect(backend.read('clipboard', acceptAll)).rejects.toMatchObject({
        code: 'CLIPSYNC_ERR_CLIPBOARD',
        message: 'the clipboard owner did not answer within 2000 ms',
      });
    } finally {
      owner.kill('SIGCONT');
    }
    // The thawed owner answers the abandoned request late; that answer must not confuse this one.
    const snap = await backend.read('clipboard', acceptAll);
    expect(snap!.formats[0]!.data.toString()).toBe('frozen');
    await xclipOwner([], 'next owner');
    const next = await backend.read('clipboard', acceptAll);
    expect(next!.formats[0]!.data.toString()).toBe('next owner');
  });

  it('does not hang on a stopped X server: a read rejects within the deadline, and works once it runs again', async () => {
    await xclipOwner([], 'before the server froze');
    xvfb.signal('SIGSTOP');
    try {
      await expect(backend.read('clipboard', acceptAll)).rejects.toMatchObject({ message: expect.stringMatching(/within 2000 ms/) });
    } finally {
      xvfb.signal('SIGCONT');
    }
    const snap = await backend.read('clipboard', acceptAll);
    expect(snap!.formats[0]!.data.toString()).toBe('before the server froze');
  });

  it('hands its clipboard to a clipboard manager (SAVE_TARGETS) when it stops', async () => {
    // A minimal freedesktop ClipboardManager: owns CLIPBOARD_MANAGER, and on SAVE_TARGETS reads
    // every target of CLIPBOARD before answering the requestor.
    const conn = await openConnection(xvfb.display, 2000, systemClock, log);
    const reader = new SelectionReader(conn, systemClock, log, 2000);
    let saved: Representation[] | null = null;
    try {
      const [manager, saveTargets] = await Promise.all([conn.atom('CLIPBOARD_MANAGER'), conn.atom('SAVE_TARGETS')]);
      conn.onEvent((ev) => {
        if (ev.type !== EV_SELECTION_REQUEST || ev.target !== saveTargets) return;
        void reader.read('CLIPBOARD', acceptAll).then((formats) => {
          saved = formats;
          const property = ev.property ?? 0;
          conn.send((c) => c.ChangeProperty(PROP_MODE_REPLACE, ev.requestor!, property, XA_ATOM, 32, []));
          conn.send((c) =>
            c.SendEvent(ev.requestor!, 0, 0, {
              name: 'SelectionNotify',
              seq: 0,
              time: ev.time ?? 0,
              requestor: ev.requestor!,
              selection: manager,
              target: saveTargets,
              property,
            }),
          );
        });
      });
      const time = await conn.serverTime(2000);
      conn.send((c) => c.SetSelectionOwner(conn.window, manager, time));
      await conn.request((cb) => conn.client.GetSelectionOwner(manager, cb));

      const leaving = await X11Backend.connect(xvfb.display, log);
      await leaving.write({
        selection: 'clipboard',
        id: 'keep',
        local: true,
        formats: [memoryFormat('text/html', '<p>kept</p>'), memoryFormat(TEXT, 'kept')],
      });
      const before = changes.length;
      await leaving.stop();
      expect(saved).not.toBeNull();
      expect(saved!.map((f) => [f.mime, f.data.toString()])).toEqual([
        ['text/html', '<p>kept</p>'],
        [TEXT, 'kept'],
      ]);
      await until(() => changes.length > before, 'the change when the leaving backend closes');
    } finally {
      conn.close();
    }
  });

  it('says unsupported for a clip without formats, and stop() is idempotent', async () => {
    const other = await X11Backend.connect(xvfb.display, log);
    expect(await other.write({ selection: 'primary', id: 'none', local: true, formats: [] })).toBe('unsupported');
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    await expect(other.read('clipboard', acceptAll)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_CLIPBOARD' });
  });
});

describe.skipIf(skip)('X11 selection owner with several and misbehaving requestors', () => {
  let xvfb: Xvfb;
  beforeAll(async () => {
    xvfb = await Xvfb.startOnHighDisplay(); // away from the low numbers other test files start, stop and reconnect to
  });
  afterAll(async () => {
    await xvfb?.stop();
  });

  async function xclipRead(selection: string, target: string): Promise<Buffer> {
    const child = spawn('xclip', ['-selection', selection, '-o', '-t', target], { env: { ...process.env, ...xvfb.env() } });
    const [out] = await Promise.all([child.stdout.toArray(), new Promise((r) => child.once('exit', r))]);
    expect(child.exitCode).toBe(0);
    return Buffer.concat(out as Buffer[]);
  }

  it('serves several requestors at once by INCR, on PRIMARY too', async () => {
    const backend = await X11Backend.connect(xvfb.display, log);
    try {
      const data = randomBytes(2 * MiB + 123);
      let opened = 0;
      await backend.write({
        selection: 'primary',
        id: 'many',
        local: true,
        formats: [{ mime: 'image/png', size: data.length, open: async () => (opened++, Readable.from([data])) }],
      });
      const outs = await Promise.all([1, 2, 3].map(() => xclipRead('primary', 'image/png')));
      for (const out of outs) expect(sha(out)).toBe(sha(data));
      expect(opened).toBe(3);
    } finally {
      await backend.stop();
    }
  });

  it('drops an INCR requestor that stops deleting the property, and closes the format stream', async () => {
    const ownerConn = await openConnection(xvfb.display, 2000, systemClock, log);
    const requestor = await openConnection(xvfb.display, 2000, systemClock, log);
    const owner = new SelectionOwner(ownerConn, systemClock, log, { transferTimeoutMs: 300, requestTimeoutMs: 2000 });
    try {
      const stream = generated(2 * MiB, 3);
      let closed = false;
      stream.once('close', () => (closed = true));
      const format = { mime: 'image/png', size: 2 * MiB, open: async () => stream };
      expect(await owner.own('CLIPBOARD', { selection: 'clipboard', id: 'stuck', local: true, formats: [format] })).toBe(true);
      const [clipboard, png, prop, incr] = await Promise.all(
        ['CLIPBOARD', 'image/png', 'STUCK_REQUESTOR', 'INCR'].map((n) => requestor.atom(n)),
      );
      const notified = requestor.waitFor((ev) => ev.type === EV_SELECTION_NOTIFY && ev.requestor === requestor.window, 10_000);
      requestor.send((c) => c.ConvertSelection(requestor.window, clipboard!, png!, prop!, 0));
      expect((await notified).property).toBe(prop);
      const head = await requestor.request<{ type: number }>((cb) => requestor.client.GetProperty(0, requestor.window, prop!, 0, 0, 1, cb));
      expect(head.type).toBe(incr);
      // Never delete the INCR property: the owner must give up on us and release the stream.
      await until(() => closed && owner.transfersInProgress === 0, 'the stuck transfer to be dropped');
    } finally {
      owner.stop();
      ownerConn.close();
      requestor.close();
    }
  });
});

describe.skipIf(skip)('X11Backend when the display goes away', () => {
  it('rejects quickly when nothing listens on the display', async () => {
    await expect(X11Backend.connect(':987', log)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_CLIPBOARD' });
    await expect(X11Backend.connect('not a display', log)).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_CLIPBOARD' });
  });

  it('gives up on a display whose server accepts the connection but never answers', async () => {
    const n = 900 + Math.floor(Math.random() * 90);
    const path = `/tmp/.X11-unix/X${n}`;
    const accepted: Socket[] = [];
    let closed = 0;
    const server = createServer((socket) => {
      accepted.push(socket);
      socket.resume(); // swallow the client's hello, and see its end
      socket.once('close', () => closed++);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    try {
      await expect(X11Backend.connect(`:${n}`, log, systemClock, { requestTimeoutMs: 500 })).rejects.toMatchObject({
        code: 'CLIPSYNC_ERR_CLIPBOARD',
        message: `cannot use X display :${n}: no answer within 500 ms`,
      });
      expect(accepted).toHaveLength(1);
      await until(() => closed === 1, 'the abandoned socket to be closed');
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reconnects after the X server restarts on the same display, and writes again', async () => {
    // A high, explicit number: the X server comes back on it after the restart, and Xvfbs that
    // other tests start meanwhile (-displayfd takes the lowest free number) do not take it.
    let xvfb = await Xvfb.startOnHighDisplay();
    const display = xvfb.display;
    let reconnects = 0;
    const backend = await X11Backend.connect(display, log, systemClock, { reconnectMinMs: 100, reconnectMaxMs: 1000 });
    try {
      await backend.start({ changed: () => undefined, reconnected: () => reconnects++ });
      await xvfb.stop();
      await until(
        () => backend.read('clipboard', acceptAll).then(() => false, (err: { code?: string }) => err.code === 'CLIPSYNC_ERR_CLIPBOARD'),
        'reads to fail while the display is gone',
      );
      xvfb = await Xvfb.start(display);
      await until(() => reconnects > 0, 'reconnected()');
      expect(await backend.write({ selection: 'clipboard', id: 'back', local: true, formats: [memoryFormat(TEXT, 'back')] })).toBe(
        'written',
      );
      // Asynchronously: xvfb.readClipboard() would block the event loop that serves the request.
      const out = spawn('xclip', ['-selection', 'clipboard', '-o'], { env: { ...process.env, ...xvfb.env() } });
      const text = (await out.stdout.toArray()).join('');
      expect(text).toBe('back');
    } finally {
      await backend.stop();
      await xvfb.stop();
    }
  });
});
