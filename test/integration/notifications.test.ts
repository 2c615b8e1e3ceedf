import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { osascriptArgs } from '../../src/daemon/notifier.js';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { SessionBus, startNotificationServer } from '../helpers/session-bus.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

describe('desktop notifications over D-Bus', () => {
  const skip = skipUnlessTools({ 'dbus-daemon': 'dbus-daemon' });
  let dir: string;
  let bus: SessionBus;
  let server: Awaited<ReturnType<typeof startNotificationServer>>;
  let desk: TestDaemon;

  beforeAll(async () => {
    if (skip) return;
    dir = makeTempDir();
    bus = await SessionBus.start();
    server = await startNotificationServer(bus);
    await initHome(join(dir, 'desk'), 'desk');
    desk = await TestDaemon.start({ home: join(dir, 'desk'), env: { DBUS_SESSION_BUS_ADDRESS: bus.address } });
  });

  afterAll(async () => {
    await desk?.stop();
    server?.stop();
    bus?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  it('shows a pairing request with its code, and a refused peer once', async () => {
    if (skip) return;
    const home = join(dir, 'laptop');
    await runCli(['init', '--home', home, '--name', 'laptop']);
    const laptop = await TestDaemon.start({ home, listen: [], peers: [await desk.tcpAddress()] });
    try {
      const refused = await server.wait((c) => c.summary === 'clipsync: peer refused', 'the refusal notification');
      expect(refused).toMatchObject({ app: 'clipsync', body: expect.stringMatching(/^this machine does not trust laptop's key SHA256:/) });

      const pair = spawn(process.execPath, [CLI_ENTRY, '--home', home, 'pair', await desk.tcpAddress(), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const asked = await server.wait((c) => c.summary === 'clipsync: pairing request', 'the pairing notification');
      const pending = JSON.parse((await desk.cliOk(['pair', '--pending', '--json'])).text) as { code: string }[];
      expect(asked.body).toContain(`laptop asks to pair; code ${pending[0]!.code}`);
      pair.kill();
      expect(server.calls.filter((c) => c.summary === 'clipsync: peer refused')).toHaveLength(1);
      // The laptop has no session bus: it said so once in its log and kept running.
      await laptop.waitForLog((l) => l.msg === 'desktop notifications unavailable; notices still go to `clipsync status --watch` and the tray', 'the laptop noting it has no bus');
      expect(laptop.proc.exitCode).toBeNull();
    } finally {
      await laptop.stop();
    }
  });

  it('builds the macOS notification as AppleScript, quoted', () => {
    expect(osascriptArgs('clipsync: pairing request', 'say "482913" \\ ok')).toEqual(['-e', 'display notification "say \\"482913\\" \\\\ ok" with title "clipsync: pairing request"']);
  });
});
