import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipToWrite } from '../../src/clipboard/backend.js';
import { X11Backend } from '../../src/clipboard/x11/x11-backend.js';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';
import { Xvfb } from '../helpers/xvfb.js';

const skip = skipUnlessTools({ Xvfb: 'xvfb', xclip: 'xclip' });

/**
 * What an X11 app on `display` gets when it pastes `target` (xclip as the independent app).
 * Never synchronous: the test process itself owns the selection in some tests, and must stay
 * free to answer xclip.
 */
function xPaste(display: string, target: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    execFile('xclip', ['-selection', 'clipboard', '-o', '-t', target], { env: { ...process.env, DISPLAY: display }, timeout: 20_000, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' }, (err, stdout) =>
      resolve(err === null ? stdout : undefined),
    );
  });
}

/** The PRIMARY selection (the mouse selection) as an app on `display` pastes it with a middle click. */
function xPastePrimary(display: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('xclip', ['-selection', 'primary', '-o'], { env: { ...process.env, DISPLAY: display }, timeout: 20_000 }, (err, stdout) => resolve(err === null ? stdout : undefined));
  });
}

/** Copies in an X11 app with xclip, which stays behind to own the selection as apps do. */
function xCopy(display: string, target: string, data: Buffer | string): ChildProcess {
  const proc = spawn('xclip', ['-selection', 'clipboard', '-i', '-t', target, '-quiet'], { env: { ...process.env, DISPLAY: display }, stdio: ['pipe', 'ignore', 'ignore'] });
  proc.stdin!.end(data);
  return proc;
}

/** An app that offers several types at once (a browser: HTML and text), in the test process. */
async function offerAll(backend: X11Backend, formats: Record<string, Buffer>): Promise<void> {
  const clip: ClipToWrite = {
    selection: 'clipboard',
    id: 'test-owner',
    local: true,
    formats: Object.entries(formats).map(([mime, data]) => ({ mime, size: data.length, open: async () => Readable.from([data]) })),
  };
  expect(await backend.write(clip)).toBe('written');
}

describe.skipIf(skip)('two X11 desktops (Xvfb), a daemon on each with --clipboard system', () => {
  let dir: string;
  let xa: Xvfb;
  let xb: Xvfb;
  let a: TestDaemon;
  let b: TestDaemon;
  let app: X11Backend;
  /** B reaches A through it: every byte between them, as an eavesdropper sees it. */
  let wire: TcpProxy;
  const owners: ChildProcess[] = [];
  const silent = pino({ level: 'silent' });

  beforeAll(async () => {
    dir = makeTempDir();
    // A's server is restarted by a test below: on a number start() does not hand out.
    [xa, xb] = await Promise.all([Xvfb.startOnHighDisplay(), Xvfb.start()]);
    // Clips over 4 MiB are announced and fetched when an app pastes them (the 30 MiB image).
    const config = { eagerLimitBytes: 4 * 1024 * 1024, primary: true };
    const { homeA, homeB } = await trustedHomePair(dir, config, config);
    a = await TestDaemon.start({ home: homeA, clipboard: 'system', listen: ['tcp://127.0.0.1:0'], env: xa.env() });
    wire = await TcpProxy.start(await a.tcpAddress());
    b = await TestDaemon.start({ home: homeB, clipboard: 'system', listen: [], peers: [wire.address], env: xb.env() });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
    app = await X11Backend.connect(xa.display, silent);
  }, 60_000);

  afterAll(async () => {
    for (const o of owners) o.kill('SIGKILL');
    await app?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await wire?.close();
    await Promise.all([xa?.stop(), xb?.stop()]);
    removeDir(dir);
  });

  it('says which backend it uses and why', async () => {
    const status = (await a.status()) as unknown as { clipboard: string; clipboardBackend: string; clipboardReason: string };
    expect(status.clipboard).toBe('system');
    expect(status.clipboardBackend).toBe('x11');
    expect(status.clipboardReason).toMatch(/X11/);
  });

  it('syncs text both ways', async () => {
    owners.push(xCopy(xa.display, 'UTF8_STRING', 'from A ✓'));
    await waitFor(async () => (await xPaste(xb.display, 'UTF8_STRING'))?.toString() === 'from A ✓', { what: 'A’s copy pasteable on B' });
    owners.push(xCopy(xb.display, 'UTF8_STRING', 'and back from B'));
    await waitFor(async () => (await xPaste(xa.display, 'UTF8_STRING'))?.toString() === 'and back from B', { what: 'B’s copy pasteable on A' });
  });

  it('syncs PRIMARY apart from CLIPBOARD', async () => {
    owners.push(xCopy(xa.display, 'UTF8_STRING', 'the clipboard stays'));
    await waitFor(async () => (await xPaste(xb.display, 'UTF8_STRING'))?.toString() === 'the clipboard stays', { what: 'the clipboard on B' });
    const select = spawn('xclip', ['-selection', 'primary', '-i', '-quiet'], { env: { ...process.env, DISPLAY: xa.display }, stdio: ['pipe', 'ignore', 'ignore'] });
    owners.push(select);
    select.stdin!.end('selected with the mouse');
    await waitFor(async () => (await xPastePrimary(xb.display)) === 'selected with the mouse', { what: 'PRIMARY on B' });
    expect((await xPaste(xb.display, 'UTF8_STRING'))?.toString()).toBe('the clipboard stays');
    expect((await b.cliOk(['paste'])).text).toBe('the clipboard stays');
  });

  it('carries HTML and text offered together as both types', async () => {
    const html = Buffer.from('<b>bold</b> move');
    const text = Buffer.from('bold move');
    await offerAll(app, { 'text/html': html, 'text/plain;charset=utf-8': text });
    await waitFor(async () => (await xPaste(xb.display, 'text/html'))?.equals(html) === true, { what: 'the HTML on B' });
    expect((await xPaste(xb.display, 'UTF8_STRING'))?.toString()).toBe('bold move');
    const list = JSON.parse((await b.cliOk(['paste', '--list', '--json'])).text) as { formats: { mime: string; size: number }[] };
    expect(list.formats).toEqual([
      { mime: 'text/html', size: html.length },
      { mime: 'text/plain;charset=utf-8', size: text.length },
    ]);
    expect((await b.cliOk(['paste'])).text).toBe('bold move');
    expect((await b.cliOk(['paste', '--mime', 'text/html'])).text).toBe('<b>bold</b> move');
  });

  it('carries a PNG byte for byte', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(5000)]);
    owners.push(xCopy(xb.display, 'image/png', png));
    await waitFor(async () => (await xPaste(xa.display, 'image/png'))?.equals(png) === true, { what: 'the PNG on A' });
  });

  it('carries a 30 MiB image through INCR both ways, fetched only when an app pastes it', async () => {
    const big = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(30 * 1024 * 1024)]);
    const file = join(dir, 'big.png');
    writeFileSync(file, big);
    owners.push(xCopy(xa.display, 'image/png', big));
    // Announced on B, its bytes still on A, until an app on B asks for them.
    await waitFor(async () => {
      const clip = ((await b.status()) as unknown as { clip: { size: number; local: boolean } | null }).clip;
      return clip?.size === big.length && clip.local === false;
    }, { what: 'the image announced on B' });
    await waitFor(async () => (await xPaste(xb.display, 'image/png'))?.equals(big) === true, { what: 'the 30 MiB image on B', timeoutMs: 120_000 });
    const other = Buffer.concat([big.subarray(0, 8), randomBytes(30 * 1024 * 1024)]);
    owners.push(xCopy(xb.display, 'image/png', other));
    await waitFor(async () => (await xPaste(xa.display, 'image/png'))?.equals(other) === true, { what: 'the other 30 MiB image on A', timeoutMs: 120_000 });
  }, 300_000);

  it('copies a large file with `clipsync copy FILE` on a desktop: the command returns, apps here paste it, and the peer gets it', async () => {
    // Over the spool threshold: the daemon offers the file before its own copy of it is made,
    // and putting it on this desktop (which reads it to know it again) is what makes that copy.
    const data = randomBytes(9 * 1024 * 1024 + 17);
    const file = join(dir, 'large.bin');
    writeFileSync(file, data);
    const copied = JSON.parse((await a.cliOk(['copy', file, '--mime', 'application/x-clipsync-test', '--wait', '--json'])).stdout.toString()) as { peers: { status: string }[] };
    expect(copied.peers.map((p) => p.status)).toEqual(['delivered']);
    expect((await xPaste(xa.display, 'application/x-clipsync-test'))?.equals(data)).toBe(true);
    await waitFor(async () => (await xPaste(xb.display, 'application/x-clipsync-test'))?.equals(data) === true, { what: 'the file on B', timeoutMs: 60_000 });
  }, 120_000);

  it('never sends a copy a password manager marked secret', async () => {
    const bytesToB = (): number => wire.captured('toClient').length;
    const atStart = bytesToB();
    owners.push(xCopy(xa.display, 'UTF8_STRING', 'before the password'));
    await waitFor(async () => (await xPaste(xb.display, 'UTF8_STRING'))?.toString() === 'before the password', { what: 'the copy before the password on B' });
    const oneClip = bytesToB() - atStart; // what one short clip costs on the wire (OFFER, DATA, END)
    const beforeSecret = bytesToB();
    const receivedBefore = b.logs.filter((l) => l.msg === 'clip received').length;
    await offerAll(app, { 'text/plain;charset=utf-8': Buffer.from('hunter2-secret'), 'x-kde-passwordManagerHint': Buffer.from('secret') });
    await a.waitForLog((l) => l.msg.startsWith('a copy marked secret'), 'the daemon to skip the secret copy');
    const status = (await a.status()) as unknown as { sensitiveSkipped: number };
    expect(status.sensitiveSkipped).toBeGreaterThanOrEqual(1);
    // Not on B: neither its daemon's clip nor its desktop.
    expect((await b.cliOk(['paste'])).text).toBe('before the password');
    expect((await xPaste(xb.display, 'UTF8_STRING'))?.toString()).toBe('before the password');
    // A later ordinary copy still syncs, and the secret never reached B on the way.
    owners.push(xCopy(xa.display, 'UTF8_STRING', 'after the password'));
    await waitFor(async () => (await xPaste(xb.display, 'UTF8_STRING'))?.toString() === 'after the password', { what: 'the copy after the password on B' });
    expect(b.logs.filter((l) => l.msg === 'clip received').length).toBe(receivedBefore + 1);
    // On the wire, from the secret copy to the next one: one clip's worth (the next one), not two.
    expect(bytesToB() - beforeSecret).toBeLessThan(oneClip * 1.5);
    expect(b.stderrText).not.toContain('hunter2');
    expect(a.stderrText).not.toContain('hunter2');
  });

  it('skips a clipboard owner that never answers, answers paste, and keeps syncing', async () => {
    // An owner that takes the selection and then never sends the bytes (a frozen app).
    const never: ClipToWrite = {
      selection: 'clipboard',
      id: 'frozen',
      local: true,
      formats: [{ mime: 'text/plain;charset=utf-8', size: 5, open: () => new Promise<Readable>(() => undefined) }],
    };
    expect(await app.write(never)).toBe('written');
    await a.waitForLog((l) => l.msg === 'cannot read the clipboard; skipped this copy', 'the daemon to give up on the frozen owner');
    expect((await a.cliOk(['paste'])).text).not.toBe(''); // paste answers with the last clip
    await b.cliOk(['copy', '--wait'], { input: 'sent while an owner is frozen' });
    await waitFor(async () => (await xPaste(xa.display, 'UTF8_STRING'))?.toString() === 'sent while an owner is frozen', { what: 'a copy from B to reach A' });
    owners.push(xCopy(xa.display, 'UTF8_STRING', 'and A copies again'));
    await waitFor(async () => (await xPaste(xb.display, 'UTF8_STRING'))?.toString() === 'and A copies again', { what: 'A’s next copy on B' });
  });

  it('converges on the newer of two copies made a few ms apart on both desktops', async () => {
    owners.push(xCopy(xa.display, 'UTF8_STRING', 'race from A'));
    owners.push(xCopy(xb.display, 'UTF8_STRING', 'race from B'));
    const settled = await waitFor(
      async () => {
        const onA = (await xPaste(xa.display, 'UTF8_STRING'))?.toString();
        const onB = (await xPaste(xb.display, 'UTF8_STRING'))?.toString();
        return onA !== undefined && onA === onB && onA.startsWith('race') ? onA : undefined;
      },
      { what: 'both desktops on the same copy' },
    );
    const [sa, sb] = (await Promise.all([a.status(), b.status()])) as unknown as { clip: { id: string; ts: number } }[];
    expect(sa!.clip.id).toBe(sb!.clip.id);
    expect(['race from A', 'race from B']).toContain(settled);
  });

  it('puts the current clip back after the X server restarts', async () => {
    owners.push(xCopy(xb.display, 'UTF8_STRING', 'survives a restart'));
    await waitFor(async () => (await xPaste(xa.display, 'UTF8_STRING'))?.toString() === 'survives a restart', { what: 'the clip on A' });
    const display = xa.display;
    await app.stop();
    await xa.stop();
    xa = await Xvfb.start(display);
    await waitFor(async () => (await xPaste(display, 'UTF8_STRING'))?.toString() === 'survives a restart', { what: 'the clip back on the restarted display', timeoutMs: 60_000 });
    app = await X11Backend.connect(xa.display, silent);
  }, 120_000);
});
