import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';

const ENTRY = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FLAGS = ['--initial-old-space-size=64', '--max-semi-space-size=1', '--single-threaded'];

interface Report {
  action: string;
  platform: string;
  dryRun: boolean;
  target?: string;
  targetReason?: string;
  files: { path: string; content: string }[];
  removed: string[];
  commands: string[][];
  logs: string;
  managerReachable?: boolean;
  skipped?: string[][];
}

/** Every file (not directory) under `dir`, symlinks included. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => !statSync(path, { throwIfNoEntry: false })?.isDirectory())
    .sort();
}

describe('clipsync service', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = makeTempDir('cs-svc-');
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    // A home and config dir of our own, and no user manager to reach (an empty runtime dir,
    // no session bus): the test never touches the user manager of whoever runs it.
    env = { HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'run'), DBUS_SESSION_BUS_ADDRESS: '', DISPLAY: '', WAYLAND_DISPLAY: '' };
  });
  afterEach(() => removeDir(dir));

  const service = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(['service', ...args], { env: { ...env, ...extraEnv } });

  it('install --dry-run (Linux) prints the units and the systemctl commands, and writes nothing', async () => {
    const human = await service(['install', '--dry-run', '--tray', '--platform', 'linux', '--home', join(dir, 'h')], { DISPLAY: ':0' });
    expect(human.code).toBe(0);
    const unitPath = join(dir, 'config', 'systemd', 'user', 'clipsync.service');
    expect(human.text).toContain('# target: graphical-session.target (DISPLAY is set');
    expect(human.text).toContain(`# file ${unitPath}:\n`);
    expect(human.text).toContain(`ExecStart=${process.execPath} ${FLAGS.join(' ')} ${ENTRY} daemon --home ${join(dir, 'h')}\n`);
    expect(human.text).toContain(`ExecStart=${process.execPath} ${ENTRY} tray --home ${join(dir, 'h')}\n`);
    expect(human.text).toContain('$ systemctl --user daemon-reload\n$ systemctl --user reenable clipsync.service clipsync-tray.service\n$ systemctl --user restart clipsync.service clipsync-tray.service\n');

    const json = JSON.parse((await service(['install', '--dry-run', '--json', '--platform', 'linux'])).text) as Report;
    expect(json).toMatchObject({ action: 'install', platform: 'linux', dryRun: true, target: 'default.target', logs: 'journalctl --user -u clipsync -f' });
    expect(json.files.map((f) => f.path)).toEqual([unitPath]);
    expect(json.files[0]!.content).toMatch(/^WantedBy=default.target$/m);
    expect(json.files[0]!.content).not.toMatch(/--home/);
    expect(json.commands).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'reenable', 'clipsync.service'],
      ['systemctl', '--user', 'restart', 'clipsync.service'],
    ]);
    expect(filesUnder(dir)).toEqual([]);
  });

  it('install --dry-run --platform darwin prints a plist that parses, and the launchctl commands', async () => {
    const result = await service(['install', '--dry-run', '--json', '--platform', 'darwin']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.text) as Report;
    const plistPath = join(dir, 'home', 'Library', 'LaunchAgents', 'com.clipsync.daemon.plist');
    expect(json.files.map((f) => f.path)).toEqual([plistPath]);
    const uid = String(process.getuid!());
    expect(json.commands).toEqual([
      ['launchctl', 'bootout', `gui/${uid}/com.clipsync.daemon`],
      ['launchctl', 'enable', `gui/${uid}/com.clipsync.daemon`],
      ['launchctl', 'bootstrap', `gui/${uid}`, plistPath],
    ]);
    expect(json.logs).toBe('tail -f ~/Library/Logs/clipsync/clipsync.log');
    expect(filesUnder(dir)).toEqual([]);
    const human = await service(['install', '--dry-run', '--platform', 'darwin']);
    expect(human.text).toContain(`$ launchctl bootstrap gui/${uid} ${plistPath}\n`);
    if (skipUnlessTools({ python3: 'python3' })) return;
    const copy = join(dir, 'agent.plist');
    writeFileSync(copy, json.files[0]!.content);
    const parsed = JSON.parse(execFileSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', copy], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      Label: 'com.clipsync.daemon',
      ProgramArguments: [process.execPath, ...FLAGS, ENTRY, 'daemon'],
      LimitLoadToSessionType: 'Aqua',
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      StandardErrorPath: join(dir, 'home', 'Library', 'Logs', 'clipsync', 'clipsync.log'),
    });
  });

  it('writes units that pass systemd-analyze verify', async () => {
    if (skipUnlessTools({ 'systemd-analyze': 'systemd' })) return;
    for (const target of ['graphical-session', 'default']) {
      const json = JSON.parse((await service(['install', '--dry-run', '--json', '--tray', '--target', target, '--platform', 'linux'])).text) as Report;
      const copies = json.files.map((f) => {
        const copy = join(dir, f.path.split('/').pop()!);
        writeFileSync(copy, f.content);
        return copy;
      });
      // --user checks them as user units (graphical-session.target exists only there); it needs a
      // runtime dir, not a running manager. Warnings (unknown keys…) go to stderr: none allowed.
      const verify = spawnSync('systemd-analyze', ['--user', 'verify', '--man=no', ...copies], { env: { ...process.env, ...env }, encoding: 'utf8' });
      expect({ code: verify.status, stderr: verify.stderr }).toEqual({ code: 0, stderr: '' });
    }
  });

  it('install and uninstall without a user manager write and remove exactly the files they name', async () => {
    const install = await service(['install', '--json', '--tray']);
    // Exit 1: the units are written, but nothing is enabled or running, which is what was asked.
    expect(install.code).toBe(1);
    expect(install.stderr).toMatch(/^clipsync: the systemd user manager is not reachable \(.*\): the service is written but not enabled or started\nhint: in your desktop session run: systemctl --user daemon-reload && systemctl --user reenable clipsync.service clipsync-tray.service && /);
    const installed = JSON.parse(install.text) as Report;
    expect(installed).toMatchObject({ managerReachable: false, skipped: installed.commands });
    const unitDir = join(dir, 'config', 'systemd', 'user');
    expect(installed.files.map((f) => f.path)).toEqual([join(unitDir, 'clipsync.service'), join(unitDir, 'clipsync-tray.service')]);
    expect(filesUnder(dir)).toEqual(installed.files.map((f) => f.path).sort());

    const status = JSON.parse((await service(['status', '--json'])).text) as { managerReachable: boolean; services: { name: string; installed: boolean; active: string | null }[] };
    expect(status.managerReachable).toBe(false);
    expect(status.services.map((s) => [s.name, s.installed, s.active])).toEqual([
      ['clipsync.service', true, null],
      ['clipsync-tray.service', true, null],
    ]);

    const uninstall = await service(['uninstall', '--json']);
    expect(uninstall.code).toBe(0);
    const removed = JSON.parse(uninstall.text) as Report;
    expect(removed.removed.sort()).toEqual(installed.files.map((f) => f.path).sort());
    expect(filesUnder(dir)).toEqual([]);

    const again = await service(['uninstall']);
    expect(again).toMatchObject({ code: 0, text: `clipsync service is not installed (no ${join(unitDir, 'clipsync.service')})\n` });
    const after = JSON.parse((await service(['status', '--json'])).text) as { services: { installed: boolean }[] };
    expect(after.services.map((s) => s.installed)).toEqual([false]);
  });

  it('refuses what it cannot do, with usage errors', async () => {
    const other = process.platform === 'darwin' ? 'linux' : 'darwin';
    const foreign = await service(['install', '--platform', other]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/^clipsync: --platform \w+ is not this machine .*only with --dry-run/);
    const tray = await service(['install', '--tray', '--dry-run', '--platform', 'darwin']);
    expect(tray.code).toBe(2);
    expect(tray.stderr).toMatch(/SwiftBar/);
    expect((await service(['reinstall'])).code).toBe(2);
    expect(filesUnder(dir)).toEqual([]);
  });
});
