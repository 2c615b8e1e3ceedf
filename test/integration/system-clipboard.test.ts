import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TestDaemon, initHome, trust } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';
import { Xvfb } from '../helpers/xvfb.js';

const skip = skipUnlessTools({ Xvfb: 'xvfb', xclip: 'xclip' });

describe.skipIf(skip)('the X11 clipboard under Xvfb', () => {
  let dir: string;
  let x: Xvfb;
  let desktop: TestDaemon;
  let headless: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    x = await Xvfb.start();
    const homeA = join(dir, 'desk');
    const homeB = join(dir, 'box');
    await initHome(homeA, 'desk');
    await initHome(homeB, 'box');
    await trust(homeA, homeB);
    await trust(homeB, homeA);
    desktop = await TestDaemon.start({ home: homeA, clipboard: 'system', env: x.env() });
    headless = await TestDaemon.start({ home: homeB, listen: [], peers: [await desktop.tcpAddress()], env: { DISPLAY: '' } });
    await desktop.waitConnected(1);
  });

  afterAll(async () => {
    await Promise.all([desktop?.stop(), headless?.stop()]);
    await x?.stop();
    removeDir(dir);
  });

  it('uses the system clipboard', async () => {
    expect((await desktop.status()).clipboard).toBe('system');
    expect((await headless.status()).clipboard).toBe('memory');
  });

  it('sends a copy made in X11 to the peer', async () => {
    x.setClipboard('copied in X11 ✓ ünïcode');
    await waitFor(async () => (await headless.cli(['paste'])).text === 'copied in X11 ✓ ünïcode', { what: 'the X11 copy on the peer' });
  });

  it('writes a clip from the peer into the X11 clipboard, without echoing it back', async () => {
    const text = 'from the headless box\nline 2';
    const size = Buffer.byteLength(text);
    await headless.cliOk(['copy', '--wait'], { input: text });
    await waitFor(() => x.readClipboard() === 'from the headless box\nline 2', { what: 'the peer clip in X11' });
    expect((await desktop.cliOk(['paste'])).text).toBe('from the headless box\nline 2');
    // Its own write must not be taken for a new copy and sent back out.
    expect(desktop.logs.filter((l) => l.msg === 'local copy' && l['source'] === 'clipboard' && l['size'] === size)).toHaveLength(0);
    expect(headless.logs.filter((l) => l.msg === 'clip received' && l['size'] === size)).toHaveLength(0);
  });

  it('reads the latest X11 copy when asked to paste on the same machine', async () => {
    x.setClipboard('just now');
    expect((await desktop.cliOk(['paste'])).text).toBe('just now');
  });

  it('auto picks the system clipboard with a display and memory without one', async () => {
    const home = join(dir, 'auto');
    const withDisplay = await TestDaemon.start({ home, clipboard: 'auto', env: x.env() });
    expect((await withDisplay.status()).clipboard).toBe('system');
    await withDisplay.stop();
    const without = await TestDaemon.start({ home, clipboard: 'auto', env: { DISPLAY: '', WAYLAND_DISPLAY: '' } });
    expect((await without.status()).clipboard).toBe('memory');
    await without.stop();
  });

  it('picks up a display that appears after the daemon started, without a restart', async () => {
    // A display number nobody uses, named before its server runs (a service started before the session).
    let number = 0;
    do number = 200 + Math.floor(Math.random() * 500);
    while (existsSync(`/tmp/.X11-unix/X${number}`) || existsSync(`/tmp/.X${number}-lock`));
    const runtime = join(dir, 'runtime-late');
    mkdirSync(runtime, { mode: 0o700 });
    const late = await TestDaemon.start({ home: join(dir, 'late'), clipboard: 'auto', env: { DISPLAY: `:${number}`, WAYLAND_DISPLAY: '', XDG_RUNTIME_DIR: runtime } });
    let x2: Xvfb | undefined;
    try {
      expect((await late.status()).clipboard).toBe('memory');
      x2 = await Xvfb.start(`:${number}`);
      await late.waitForLog((l) => l.msg === 'a display appeared; now syncing the desktop clipboard', 'the daemon to find the new display');
      expect(((await late.status()) as unknown as { clipboardBackend: string }).clipboardBackend).toBe('x11');
      x2.setClipboard('copied on the late display');
      expect((await late.cliOk(['paste'])).text).toBe('copied on the late display');
    } finally {
      await late.stop();
      await x2?.stop();
    }
  }, 90_000);

  it('skips a clipboard owner stopped with SIGSTOP: the daemon logs it, paste answers, copies keep syncing', async () => {
    const owner = spawn('xclip', ['-selection', 'clipboard', '-i', '-quiet'], { env: { ...process.env, ...x.env() }, stdio: ['pipe', 'ignore', 'ignore'] });
    owner.stdin!.end('owned by a process about to freeze');
    try {
      await waitFor(async () => (await headless.cli(['paste'])).text === 'owned by a process about to freeze', { what: 'the copy on the peer' });
      owner.kill('SIGSTOP');
      // paste reads the clipboard afresh: the frozen owner never answers, and paste still does.
      const pasted = await desktop.cliOk(['paste']);
      expect(pasted.text).toBe('owned by a process about to freeze');
      await desktop.waitForLog((l) => l.msg === 'cannot read the clipboard; skipped this copy', 'the daemon to log the frozen owner');
      await headless.cliOk(['copy', '--wait'], { input: 'sent while the owner is frozen' });
      await waitFor(() => x.readClipboard() === 'sent while the owner is frozen', { what: 'the peer copy on the desktop' });
    } finally {
      owner.kill('SIGKILL');
    }
  });

  it('refuses --clipboard system without a display, saying what is missing', async () => {
    const result = await runCli(['daemon', '--home', join(dir, 'nodisplay'), '--clipboard', 'system', '--listen', 'tcp://127.0.0.1:0', '--no-mdns'], {
      env: { DISPLAY: '', WAYLAND_DISPLAY: '' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/system clipboard is not reachable/);
    expect(result.stderr).toMatch(/--clipboard memory/);
  });
});
