import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { Sway } from '../helpers/sway.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const skip = skipUnlessTools({ sway: 'sway', 'wl-paste': 'wl-clipboard', 'wl-copy': 'wl-clipboard', setpriv: 'util-linux' });

/** What a Wayland app gets when it pastes `type` (wl-paste as the independent app). */
function wlPaste(sway: Sway, type: string): Buffer | undefined {
  const r = spawnSync('wl-paste', ['--no-newline', '-t', type], { env: sway.env(), timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
  return r.status === 0 ? r.stdout : undefined;
}

/** Copies in a Wayland app: wl-copy stays in the background to serve it, as apps do. */
function wlCopy(sway: Sway, type: string, data: Buffer | string): ChildProcess {
  const proc = spawn('wl-copy', ['--foreground', '-t', type], { env: sway.env(), stdio: ['pipe', 'ignore', 'ignore'] });
  proc.stdin!.end(data);
  return proc;
}

describe.skipIf(skip)('two headless Wayland compositors (sway), a daemon on each with --clipboard system', () => {
  let dir: string;
  let sa: Sway;
  let sb: Sway;
  let a: TestDaemon;
  let b: TestDaemon;
  const owners: ChildProcess[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    [sa, sb] = await Promise.all([Sway.start(), Sway.start()]);
    const config = { primary: true };
    const { homeA, homeB } = await trustedHomePair(dir, config, config);
    a = await TestDaemon.start({ home: homeA, clipboard: 'system', listen: ['tcp://127.0.0.1:0'], env: sa.env() });
    b = await TestDaemon.start({ home: homeB, clipboard: 'system', listen: [], peers: [await a.tcpAddress()], env: sb.env() });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  }, 60_000);

  afterAll(async () => {
    for (const o of owners) o.kill('SIGKILL');
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([sa?.stop(), sb?.stop()]);
    removeDir(dir);
  });

  it('uses the Wayland backend and says why', async () => {
    const status = (await a.status()) as unknown as { clipboard: string; clipboardBackend: string; clipboardReason: string };
    expect(status.clipboard).toBe('system');
    expect(status.clipboardBackend).toBe('wayland');
    expect(status.clipboardReason).toMatch(/data-control/);
  });

  it('syncs text both ways', async () => {
    owners.push(wlCopy(sa, 'text/plain;charset=utf-8', 'from Wayland A ✓'));
    await waitFor(() => wlPaste(sb, 'text/plain')?.toString() === 'from Wayland A ✓', { what: 'A’s copy pasteable on B' });
    owners.push(wlCopy(sb, 'text/plain;charset=utf-8', 'and back from B'));
    await waitFor(() => wlPaste(sa, 'text/plain')?.toString() === 'and back from B', { what: 'B’s copy pasteable on A' });
  });

  it('syncs PRIMARY apart from CLIPBOARD', async () => {
    owners.push(wlCopy(sa, 'text/plain;charset=utf-8', 'the clipboard stays'));
    await waitFor(() => wlPaste(sb, 'text/plain')?.toString() === 'the clipboard stays', { what: 'the clipboard on B' });
    const select = spawn('wl-copy', ['--foreground', '--primary'], { env: sa.env(), stdio: ['pipe', 'ignore', 'ignore'] });
    owners.push(select);
    select.stdin!.end('selected with the mouse');
    const primaryOnB = (): string | undefined => {
      const r = spawnSync('wl-paste', ['--primary', '--no-newline'], { env: sb.env(), timeout: 20_000 });
      return r.status === 0 ? r.stdout.toString() : undefined;
    };
    await waitFor(() => primaryOnB() === 'selected with the mouse', { what: 'PRIMARY on B' });
    expect(wlPaste(sb, 'text/plain')?.toString()).toBe('the clipboard stays');
  });

  it('carries a PNG byte for byte both ways', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(20_000)]);
    owners.push(wlCopy(sa, 'image/png', png));
    await waitFor(() => wlPaste(sb, 'image/png')?.equals(png) === true, { what: 'the PNG on B' });
    const other = Buffer.concat([png.subarray(0, 8), randomBytes(30_000)]);
    owners.push(wlCopy(sb, 'image/png', other));
    await waitFor(() => wlPaste(sa, 'image/png')?.equals(other) === true, { what: 'the other PNG on A' });
    expect((await a.cliOk(['paste', '--mime', 'image/png'])).stdout.equals(other)).toBe(true);
  });
});
