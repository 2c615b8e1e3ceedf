import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackendEvents, ClipToWrite, ReadOptions, Selection } from '../../src/clipboard/backend.js';
import { TEXT_MIME } from '../../src/clipboard/wayland/mime-types.js';
import { WaylandBackend } from '../../src/clipboard/wayland/wayland-backend.js';
import { Sway } from '../helpers/sway.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The Wayland backend against a real headless sway (wlroots data-control), driven by and checked
 * with the real wl-copy/wl-paste as another client would use them.
 */
const skip = skipUnlessTools({ sway: 'sway', 'wl-paste': 'wl-clipboard', 'wl-copy': 'wl-clipboard', setpriv: 'util-linux' });

// A real 1×1 PNG: its signature holds \r\n, \x1a and \n, so any newline handling would show.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const ACCEPT_ALL: ReadOptions = { accept: () => true, maxFormatBytes: 1024 * 1024 };
const log = pino({ level: process.env['CLIPSYNC_LOG_LEVEL'] ?? 'silent' });

interface Recorder extends BackendEvents {
  changes: Selection[];
  reconnects: number;
}
function recorder(): Recorder {
  const r: Recorder = {
    changes: [],
    reconnects: 0,
    changed: (selection) => void r.changes.push(selection),
    reconnected: () => void r.reconnects++,
  };
  return r;
}

/** Everything the backend was given to write: what a killed wl-copy may leave in /tmp (below). */
const written: Buffer[] = [];

function clipOf(mime: string, data: Buffer, selection: Selection = 'clipboard'): ClipToWrite {
  written.push(data);
  return { selection, id: `test-${mime}`, local: true, formats: [{ mime, size: data.length, open: async () => Readable.from([data]) }] };
}

describe.skipIf(skip)('WaylandBackend against headless sway', () => {
  let sway: Sway;
  const backends: WaylandBackend[] = [];
  /** External owners started with --foreground, so the test can freeze and end them. */
  const owners: ChildProcess[] = [];

  /** New wl-copy temp dirs holding `payload`: what a killed wl-copy < 2.2 leaves (it ignores TMPDIR). */
  function leftCopyBuffers(payload: Buffer): string[] {
    return readdirSync('/tmp')
      .filter((n) => n.startsWith('wl-copy-buffer-'))
      .map((n) => join('/tmp', n))
      .filter((dir) => {
        try {
          return readdirSync(dir).some((f) => readFileSync(join(dir, f)).equals(payload));
        } catch {
          return false;
        }
      });
  }

  /**
   * Sets a selection as another client would. wl-copy forks and serves in the background, where
   * it keeps stderr: only with stdout/stderr not piped does spawnSync return when it forked.
   */
  function copy(data: Buffer | string, args: string[] = [], env = sway.env()): void {
    const result = spawnSync('wl-copy', args, { input: data, env, timeout: 20_000, stdio: ['pipe', 'ignore', 'ignore'] });
    if (result.status !== 0) throw new Error(`wl-copy ${args.join(' ')} failed (${result.status ?? result.signal})`);
  }
  function paste(args: string[], env = sway.env()): Buffer {
    const result = spawnSync('wl-paste', args, { env, timeout: 20_000 });
    if (result.status !== 0) throw new Error(`wl-paste ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }
  function backend(options: Partial<ConstructorParameters<typeof WaylandBackend>[0]> = {}): WaylandBackend {
    // A generous deadline: a loaded 2-core machine may take long to start a process. The test of
    // the deadline itself sets its own.
    const b = new WaylandBackend({ log, env: sway.env(), primary: false, deadlineMs: 10_000, ...options });
    backends.push(b);
    return b;
  }

  // A compositor per test: no clipboard left over from the one before, and when it goes first,
  // every wl-copy still serving (ours and the test's) exits through its own clean-up.
  beforeEach(async () => {
    sway = await Sway.start();
  });

  afterEach(async () => {
    await sway.stop();
    await Promise.all(backends.splice(0).map((b) => b.stop()));
    await Promise.all(
      owners.splice(0).map(async (owner) => {
        if (owner.exitCode !== null || owner.signalCode !== null) return;
        const exited = new Promise((resolve) => owner.once('exit', resolve));
        owner.kill('SIGCONT');
        const timer = setTimeout(() => owner.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    // wl-clipboard < 2.2 ignores the private TMPDIR the backend gives wl-copy: one killed by
    // stop() (or on its way out when stop() came) leaves /tmp/wl-copy-buffer-XXXXXX behind.
    for (const payload of written.splice(0)) for (const dir of leftCopyBuffers(payload)) rmSync(dir, { recursive: true, force: true });
  });

  it('probes: data-control on sway; no Wayland without WAYLAND_DISPLAY; a dead socket cannot connect', async () => {
    expect(await WaylandBackend.probe(sway.env(), log)).toEqual({ ok: true, reason: expect.stringContaining('data-control') });
    expect((await WaylandBackend.probe({ ...sway.env(), WAYLAND_DISPLAY: '' }, log)).ok).toBe(false);
    const gone = await WaylandBackend.probe({ ...sway.env(), WAYLAND_DISPLAY: join(sway.dir, 'wayland-9') }, log);
    expect(gone).toEqual({ ok: false, reason: expect.stringContaining('cannot connect') });
  });

  it('reads text copied by another client as one UTF-8 representation', async () => {
    copy('héllo wörld\nsecond line');
    const snapshot = await backend().read('clipboard', ACCEPT_ALL);
    expect(snapshot).toEqual({ selection: 'clipboard', sensitive: false, formats: [{ mime: TEXT_MIME, data: Buffer.from('héllo wörld\nsecond line') }] });
  });

  it('returns null for an empty clipboard', async () => {
    copy('', ['--clear']);
    expect(await backend().read('clipboard', ACCEPT_ALL)).toBeNull();
  });

  it('writes text that wl-paste reads back, offered under every text alias', async () => {
    const b = backend();
    expect(await b.write(clipOf(TEXT_MIME, Buffer.from('from a peer ✓')))).toBe('written');
    expect(paste(['--no-newline', '--type', TEXT_MIME]).toString()).toBe('from a peer ✓');
    expect(paste(['--list-types']).toString().split('\n')).toEqual(expect.arrayContaining(['text/plain', 'UTF8_STRING', TEXT_MIME]));
    // The next write replaces ours; the old wl-copy exits by itself when replaced.
    expect(await b.write(clipOf(TEXT_MIME, Buffer.from('second')))).toBe('written');
    expect(paste(['--no-newline']).toString()).toBe('second');
  });

  it('carries a PNG byte-exact both ways, and writes only the image of a clip that also has text', async () => {
    copy(PNG, ['--type', 'image/png']);
    const b = backend();
    const read = await b.read('clipboard', ACCEPT_ALL);
    expect(read?.formats).toEqual([{ mime: 'image/png', data: PNG }]);

    const clip = clipOf(TEXT_MIME, Buffer.from('alt text'));
    clip.formats.push(clipOf('image/png', PNG).formats[0]!);
    expect(await b.write(clip)).toBe('written');
    expect(paste(['--list-types']).toString().trim()).toBe('image/png');
    expect(paste(['--type', 'image/png'])).toEqual(PNG);
  });

  it('skips a format over maxFormatBytes and keeps the others', async () => {
    copy(Buffer.alloc(300_000, 'x'));
    const b = backend();
    expect(await b.read('clipboard', { accept: () => true, maxFormatBytes: 100_000 })).toBeNull();
    expect((await b.read('clipboard', { accept: () => true, maxFormatBytes: 300_000 }))?.formats[0]?.data.length).toBe(300_000);
  });

  it('reports changes made by another client, on CLIPBOARD and PRIMARY', async () => {
    const b = backend({ primary: true });
    const events = recorder();
    await b.start(events);
    copy('watched');
    await waitFor(() => events.changes.includes('clipboard'), { what: 'a clipboard change' });
    const before = events.changes.filter((s) => s === 'clipboard').length;
    copy('watched again');
    await waitFor(() => events.changes.filter((s) => s === 'clipboard').length > before, { what: 'a second change' });
    copy('selected', ['--primary']);
    await waitFor(() => events.changes.includes('primary'), { what: 'a primary change' });
    expect((await b.read('primary', ACCEPT_ALL))?.formats[0]?.data.toString()).toBe('selected');
  });

  it('does not report its own write as a change, and reports the next copy by another client', async () => {
    const b = backend();
    const events = recorder();
    await b.start(events);
    copy('before our write');
    await waitFor(() => events.changes.length > 0, { what: 'the first change' });
    const before = events.changes.length;
    expect(await b.write(clipOf(TEXT_MIME, Buffer.from('written by clipsync')))).toBe('written');
    copy('copied by an app after it');
    await waitFor(async () => (await b.read('clipboard', ACCEPT_ALL))?.formats[0]?.data.toString() === 'copied by an app after it', { what: 'the app copy' });
    await waitFor(() => events.changes.length > before, { what: 'the app copy reported' });
    expect(events.changes.length).toBe(before + 1); // the app's copy, not our write
  });

  it('keeps a long text copied from argv alive (the watch drains what it is sent)', async () => {
    const b = backend();
    const events = recorder();
    await b.start(events);
    const text = 'a'.repeat(100_000);
    const result = spawnSync('wl-copy', [text], { env: sway.env(), timeout: 20_000, stdio: 'ignore' });
    expect(result.status).toBe(0);
    await waitFor(() => events.changes.length > 0, { what: 'the change' });
    // wl-copy writes argv text itself: had the watch closed its pipe unread, SIGPIPE killed it.
    expect((await b.read('clipboard', ACCEPT_ALL))?.formats[0]?.data.length).toBe(100_000);
  });

  it('reports a sensitive copy as sensitive without reading it', async () => {
    // wl-paste sets CLIPBOARD_STATE=sensitive (from 2.2) when the offer carries
    // x-kde-passwordManagerHint; only wl-copy 2.3's --sensitive offers that. With an older
    // wl-clipboard, a wrapper passes the state the way wl-paste ≥ 2.2 would (2.1 does not set the
    // variable, so it reaches the watch command), and logs every wl-paste call.
    const helpText = spawnSync('wl-copy', ['--help'], { encoding: 'utf8' }).stdout + spawnSync('wl-copy', ['--help'], { encoding: 'utf8' }).stderr;
    const native = helpText.includes('--sensitive');
    const dir = makeTempDir('cs-wlwrap-');
    try {
      const callLog = join(dir, 'calls');
      writeFileSync(callLog, '');
      const real = spawnSync('sh', ['-c', 'command -v wl-paste'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(
        join(dir, 'wl-paste'),
        `#!/bin/sh\nprintf '%s\\n' "$*" >> '${callLog}'\n${native ? '' : 'export CLIPBOARD_STATE=sensitive\n'}exec '${real}' "$@"\n`,
      );
      chmodSync(join(dir, 'wl-paste'), 0o755);
      const env = { ...sway.env(), PATH: `${dir}:${process.env['PATH']}` };
      const b = backend({ env });
      const events = recorder();
      await b.start(events);
      copy('hunter2', native ? ['--sensitive'] : []);
      await waitFor(() => events.changes.length > 0, { what: 'the change' });
      writeFileSync(callLog, '');
      expect(await b.read('clipboard', ACCEPT_ALL)).toEqual({ selection: 'clipboard', formats: [], sensitive: true });
      expect(readFileSync(callLog, 'utf8')).toBe('');
    } finally {
      removeDir(dir);
    }
  });

  it('rejects a read from a frozen owner within the deadline, and reads again once it answers', async () => {
    const b = backend({ deadlineMs: 2000 });
    const events = recorder();
    await b.start(events);
    const owner = spawn('wl-copy', ['--foreground'], { env: sway.env(), stdio: ['pipe', 'ignore', 'ignore'] });
    owners.push(owner);
    owner.stdin!.end('frozen text');
    await waitFor(() => paste(['--no-newline']).toString() === 'frozen text', { what: 'the owner to take the clipboard' });
    // The owner itself must take the compositor's send request (it forks a `cat` only then).
    owner.kill('SIGSTOP');
    const error = await b.read('clipboard', ACCEPT_ALL).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'CLIPSYNC_ERR_CLIPBOARD', message: 'the clipboard owner did not answer within 2000 ms' });
    owner.kill('SIGCONT');
    expect((await b.read('clipboard', ACCEPT_ALL))?.formats).toEqual([{ mime: TEXT_MIME, data: Buffer.from('frozen text') }]);
    // The frozen owner did not stall the watch either.
    const before = events.changes.length;
    copy('after the thaw');
    await waitFor(() => events.changes.length > before, { what: 'a change after the thaw' });
  });

  it('fails a write that wl-copy refuses, and the next write still works', async () => {
    const b = backend({ env: { ...sway.env(), WAYLAND_DISPLAY: join(sway.dir, 'wayland-9') } });
    await expect(b.write(clipOf(TEXT_MIME, Buffer.from('x')))).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_CLIPBOARD' });
    expect(await backend().write(clipOf(TEXT_MIME, Buffer.from('ok')))).toBe('written');
    expect(await backend().write({ selection: 'clipboard', id: 'none', local: true, formats: [] })).toBe('unsupported');
  });

  it('stop() ends the wl-copy it started and the watch; the clipboard it owned goes empty', async () => {
    const b = backend();
    await b.start(recorder());
    const payload = Buffer.from(`owned by the backend ${process.pid}`);
    expect(await b.write(clipOf(TEXT_MIME, payload))).toBe('written');
    expect(paste(['--no-newline'])).toEqual(payload);
    await b.stop();
    await b.stop();
    const empty = spawnSync('wl-paste', ['--list-types'], { env: sway.env(), encoding: 'utf8', timeout: 20_000 });
    expect(empty.status).not.toBe(0);
  });

  it('fires reconnected() once the compositor is back after a crash', async () => {
    const b = backend({ primary: true });
    const events = recorder();
    await b.start(events);
    copy('before the crash');
    await waitFor(() => events.changes.length > 0, { what: 'the first change' });
    await sway.restart();
    await waitFor(() => events.reconnects > 0, { timeoutMs: 60_000, what: 'reconnected()' });
    expect(events.reconnects).toBe(1);
    const before = events.changes.length;
    copy('after the crash');
    await waitFor(() => events.changes.length > before, { what: 'a change on the new compositor' });
    expect((await b.read('clipboard', ACCEPT_ALL))?.formats[0]?.data.toString()).toBe('after the crash');
  });
});
