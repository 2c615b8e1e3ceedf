import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS, daemonEnvWords, programArguments, shellLine } from '../../../src/service/command-line.js';
import { renderDaemonPlist } from '../../../src/service/launchd-plist.js';
import { chooseTarget } from '../../../src/service/session-target.js';
import { shippedFiles } from '../../../src/service/shipped-files.js';
import { quoteForSystemd, renderDaemonUnit, renderTrayUnit } from '../../../src/service/systemd-unit.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const install = { nodePath: '/opt/node 20/bin/node', entryPath: '/home/u/clipsync/dist/cli/main.js', home: '/home/u/100%/cs' };

describe('service files', () => {
  it('ships exactly what the renderer writes (regenerate: npm run build && node scripts/render-service-files.mjs)', () => {
    for (const { path, content } of shippedFiles()) expect(readFileSync(ROOT + path, 'utf8'), path).toBe(content);
  });

  it("runs the daemon with package.json's start flags and environment", () => {
    const pkg = JSON.parse(readFileSync(ROOT + 'package.json', 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toBe(`exec env ${daemonEnvWords().join(' ')} node ${DAEMON_NODE_FLAGS.join(' ')} dist/cli/main.js daemon`);
    const unit = renderDaemonUnit({ ...install, target: 'default.target' });
    for (const word of daemonEnvWords()) expect(unit).toContain(`\nEnvironment=${word}\n`);
    expect(programArguments(install, 'daemon')).toEqual([install.nodePath, ...DAEMON_NODE_FLAGS, install.entryPath, 'daemon', '--home', install.home]);
    expect(programArguments({ nodePath: '/n', entryPath: '/m.js' }, 'tray')).toEqual(['/n', '/m.js', 'tray']);
  });

  it('ties a desktop unit to graphical-session.target and a headless one to default.target only', () => {
    const desktop = renderDaemonUnit({ ...install, target: 'graphical-session.target' });
    expect(desktop).toMatch(/^PartOf=graphical-session.target$/m);
    expect(desktop).toMatch(/^After=graphical-session.target$/m);
    expect(desktop).toMatch(/^WantedBy=graphical-session.target$/m);
    const headless = renderDaemonUnit({ ...install, target: 'default.target' });
    expect(headless).not.toMatch(/graphical-session/);
    expect(headless).toMatch(/^WantedBy=default.target$/m);
    for (const unit of [desktop, headless]) expect(unit).not.toMatch(/network-online/);
    const tray = renderTrayUnit(install);
    expect(tray).toMatch(/^ExecStart=.* tray --home /m);
    expect(tray).toMatch(/^WantedBy=graphical-session.target$/m);
  });

  it('quotes ExecStart arguments the way systemd splits them', () => {
    const unit = renderDaemonUnit({ ...install, target: 'default.target' });
    expect(unit).toMatch(/^ExecStart="\/opt\/node 20\/bin\/node" --initial-old-space-size=64 .* daemon --home \/home\/u\/100%%\/cs$/m);
    expect(quoteForSystemd('a"b\\c$HOME')).toBe('"a\\"b\\\\c$$HOME"');
    expect(quoteForSystemd('plain/path')).toBe('plain/path');
    expect(shellLine(['systemctl', '--user', "it's here"])).toBe(`systemctl --user 'it'\\''s here'`);
  });

  it('escapes XML in the plist', () => {
    const plist = renderDaemonPlist({ ...install, home: '/Users/a&b/<x>', logFile: '/Users/a&b/Library/Logs/clipsync/clipsync.log' });
    expect(plist).toContain('<string>/Users/a&amp;b/&lt;x&gt;</string>');
    expect(plist).toContain('<key>LimitLoadToSessionType</key>\n  <string>Aqua</string>');
  });
});

describe('which target', () => {
  const env = (vars: Record<string, string>): NodeJS.ProcessEnv => vars;
  it('follows graphical-session.target when the user manager answers', () => {
    expect(chooseTarget({ env: env({}), graphicalActive: true }).target).toBe('graphical-session.target');
    const notActive = chooseTarget({ env: env({ DISPLAY: ':0' }), graphicalActive: false });
    expect(notActive.target).toBe('default.target');
    expect(notActive.reason).toMatch(/DISPLAY is set but your session does not activate graphical-session.target/);
  });

  it('falls back on DISPLAY / WAYLAND_DISPLAY without a user manager, and obeys --target', () => {
    expect(chooseTarget({ env: env({ WAYLAND_DISPLAY: 'wayland-0' }), graphicalActive: undefined })).toMatchObject({ target: 'graphical-session.target', reason: expect.stringMatching(/^WAYLAND_DISPLAY is set/) });
    expect(chooseTarget({ env: env({ DISPLAY: '' }), graphicalActive: undefined }).target).toBe('default.target');
    expect(chooseTarget({ env: env({}), graphicalActive: true, forced: 'default.target' })).toEqual({ target: 'default.target', reason: 'chosen with --target' });
  });
});
