import { renderDaemonPlist } from './launchd-plist.js';
import { renderDaemonUnit } from './systemd-unit.js';

/**
 * The unit and plist shipped in the repository: the renderer's output for placeholder paths
 * (npm's default global prefix on Linux and Intel macOS), so they never drift from what
 * `clipsync service install` writes. scripts/render-service-files.mjs rewrites them; a test
 * checks they are current.
 */
export const SHIPPED_INSTALLATION = {
  nodePath: '/usr/local/bin/node',
  entryPath: '/usr/local/lib/node_modules/clipsync/dist/cli/main.js',
};

export function shippedFiles(): { path: string; content: string }[] {
  return [
    { path: 'systemd/clipsync.service', content: renderDaemonUnit({ ...SHIPPED_INSTALLATION, target: 'graphical-session.target', shipped: true }) },
    {
      path: 'launchd/com.clipsync.daemon.plist',
      content: renderDaemonPlist({ ...SHIPPED_INSTALLATION, logFile: '/Users/USERNAME/Library/Logs/clipsync/clipsync.log', shipped: true }),
    },
  ];
}
