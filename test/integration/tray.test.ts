import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as dbus from '@jellybrick/dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { SessionBus } from '../helpers/session-bus.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

interface Item {
  id: number;
  label?: string;
  enabled?: boolean;
  children: Item[];
}

/** dbusmenu's (ia{sv}av) as plain objects. */
function toItem(raw: [number, Record<string, dbus.Variant>, dbus.Variant[]]): Item {
  const [id, props, children] = raw;
  const item: Item = { id, children: children.map((c) => toItem(c.value as [number, Record<string, dbus.Variant>, dbus.Variant[]])) };
  if (props['label'] !== undefined) item.label = props['label'].value as string;
  if (props['enabled'] !== undefined) item.enabled = props['enabled'].value as boolean;
  return item;
}

function flat(item: Item): Item[] {
  return [item, ...item.children.flatMap(flat)];
}

describe('clipsync tray (StatusNotifierItem + dbusmenu)', () => {
  const skip = skipUnlessTools({ 'dbus-daemon': 'dbus-daemon' });
  let dir: string;
  let bus: SessionBus;
  let host: dbus.MessageBus;
  let daemon: TestDaemon;
  let tray: ChildProcess;
  let trayErr = '';
  const registered: string[] = [];

  beforeAll(async () => {
    if (skip) return;
    dir = makeTempDir();
    bus = await SessionBus.start();
    // The desktop's side: a StatusNotifierWatcher that records who registers.
    host = bus.connect();
    host.addMethodHandler((msg: dbus.Message) => {
      if (msg.interface !== 'org.kde.StatusNotifierWatcher' || msg.member !== 'RegisterStatusNotifierItem') return false;
      registered.push((msg.body as [string])[0]);
      host.send(dbus.Message.newMethodReturn(msg, '', []));
      return true;
    });
    await host.requestName('org.kde.StatusNotifierWatcher', 0);
    await initHome(join(dir, 'desk'), 'desk');
    daemon = await TestDaemon.start({ home: join(dir, 'desk') });
    tray = spawn(process.execPath, [CLI_ENTRY, '--home', daemon.home, 'tray'], { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: bus.address }, stdio: ['ignore', 'ignore', 'pipe'] });
    tray.stderr!.on('data', (d: Buffer) => (trayErr += d.toString()));
  });

  afterAll(async () => {
    tray?.kill('SIGTERM');
    await daemon?.stop();
    host?.disconnect();
    bus?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  const call = async (service: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> => {
    const reply = await host.call(new dbus.Message({ destination: service, path, interface: iface, member, signature, body }));
    return (reply?.body ?? []) as unknown[];
  };
  const service = (): string => registered[0]!;
  const menu = async (): Promise<Item[]> => {
    const [, layout] = await call(service(), '/MenuBar', 'com.canonical.dbusmenu', 'GetLayout', 'iias', [0, -1, []]);
    return flat(toItem(layout as [number, Record<string, dbus.Variant>, dbus.Variant[]]));
  };
  const click = (id: number): Promise<unknown[]> => call(service(), '/MenuBar', 'com.canonical.dbusmenu', 'Event', 'isvu', [id, 'clicked', new dbus.Variant('i', 0), 0]);

  it('registers with the watcher and shows its state in its properties', async () => {
    if (skip) return;
    await waitFor(async () => registered.length > 0, { what: `the tray to register (stderr: ${trayErr})` });
    expect(service()).toMatch(/^org\.kde\.StatusNotifierItem-\d+-1$/);
    const [props] = (await call(service(), '/StatusNotifierItem', 'org.freedesktop.DBus.Properties', 'GetAll', 's', ['org.kde.StatusNotifierItem'])) as [Record<string, dbus.Variant>];
    expect(props['Id']!.value).toBe('clipsync');
    expect(props['Category']!.value).toBe('ApplicationStatus');
    expect(props['ItemIsMenu']!.value).toBe(true);
    expect(props['Menu']!.value).toBe('/MenuBar');
    // Followed live: the daemon has no peers.
    await waitFor(async () => ((await call(service(), '/StatusNotifierItem', 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.kde.StatusNotifierItem', 'IconName'])) as [dbus.Variant])[0].value === 'network-offline', { what: 'the no-peers icon' });
    const pixmaps = props['IconPixmap']!.value as [number, number, Buffer][];
    expect(pixmaps[0]![0]).toBe(22);
    expect(pixmaps[0]![2].length).toBe(22 * 22 * 4);
  });

  it('lists recent clips and pauses the daemon from the menu', async () => {
    if (skip) return;
    // The host hears of each new layout (LayoutUpdated) rather than asking again and again.
    const updates: number[] = [];
    await call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', ["type='signal',interface='com.canonical.dbusmenu',member='LayoutUpdated'"]);
    host.on('message', (msg: dbus.Message) => {
      if (msg.member === 'LayoutUpdated') updates.push((msg.body as [number])[0]);
    });
    await daemon.cliOk(['copy'], { input: 'seen in the tray' });
    await waitFor(async () => (await menu()).some((i) => i.label === 'seen in the tray'), { what: 'the clip in the menu' });
    const items = await menu();
    expect(items[1]).toMatchObject({ label: '0 peers connected', enabled: false });
    const pause = items.find((i) => i.label === 'Pause sync')!;
    await click(pause.id);
    await waitFor(async () => ((await daemon.status()) as unknown as { paused: unknown }).paused !== null, { what: 'the daemon paused' });
    await waitFor(async () => (await menu()).some((i) => i.label === 'Resume sync'), { what: 'Resume in the menu' });
    expect(updates.length).toBeGreaterThan(0);
    await click((await menu()).find((i) => i.label === 'Resume sync')!.id);
    await waitFor(async () => ((await daemon.status()) as unknown as { paused: unknown }).paused === null, { what: 'the daemon resumed' });
  });

  it('shows a pairing request with its code, and accepts it from the menu', async () => {
    if (skip) return;
    const home = join(dir, 'laptop');
    await runCli(['init', '--home', home, '--name', 'laptop']);
    const laptop = await TestDaemon.start({ home, listen: [] });
    const pair = spawn(process.execPath, [CLI_ENTRY, '--home', home, 'pair', await daemon.tcpAddress(), '--json'], { stdio: ['ignore', 'ignore', 'ignore'] });
    try {
      const ask = await waitFor(async () => (await menu()).find((i) => i.label?.startsWith('Pair with laptop? Code ')), { what: 'the pairing request in the menu' });
      const code = ask.label!.slice('Pair with laptop? Code '.length);
      const pending = JSON.parse((await daemon.cliOk(['pair', '--pending', '--json'])).text) as { code: string; acceptedHere: boolean }[];
      expect(pending[0]!.code).toBe(code);
      await click((await menu()).find((i) => i.label === 'Accept (the codes match)')!.id);
      await waitFor(async () => (JSON.parse((await daemon.cliOk(['pair', '--pending', '--json'])).text) as { acceptedHere: boolean }[])[0]?.acceptedHere === true, { what: 'accepted here' });
    } finally {
      pair.kill();
      await laptop.stop();
    }
  });
});
