import { programArguments, type Installation } from './command-line.js';

/**
 * The launchd user agent for the daemon, as a pure function of where things are: the shipped
 * launchd/com.clipsync.daemon.plist is this output for a placeholder installation (a test keeps
 * them equal), and `clipsync service install` on macOS writes it for the real one.
 */

export const LAUNCHD_LABEL = 'com.clipsync.daemon';

export interface PlistOptions extends Installation {
  /** Absolute: launchd expands neither `~` nor `$HOME`. */
  logFile: string;
  /** The copy shipped in the repository (launchd/), with placeholder paths to edit by hand. */
  shipped?: boolean;
}

export function renderDaemonPlist(options: PlistOptions): string {
  const args = programArguments(options, 'daemon')
    .map((a) => `    <string>${xml(a)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!--
${options.shipped === true ? SHIPPED_HEADER : INSTALLED_HEADER}
-->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>

  <!-- node, its flags, this installation's dist/cli/main.js, and the command. -->
  <key>ProgramArguments</key>
  <array>
${args}
  </array>

  <!-- Only in a logged-in GUI session, where the pasteboard is. -->
  <key>LimitLoadToSessionType</key>
  <string>Aqua</string>

  <key>RunAtLoad</key>
  <true/>

  <!-- Restarted if it exits with an error; a clean exit (status 0) stays stopped. -->
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>

  <!-- One JSON line per record. -->
  <key>StandardErrorPath</key>
  <string>${xml(options.logFile)}</string>
  <key>StandardOutPath</key>
  <string>${xml(options.logFile)}</string>

  <key>EnvironmentVariables</key>
  <dict>
    <key>CLIPSYNC_LOG_LEVEL</key>
    <string>info</string>
    <key>PATH</key>
    <string>/usr/bin:/bin:/usr/sbin:/sbin</string>
  </dict>

  <!-- Clipboard sync is user-facing: not throttled like a background job. -->
  <key>ProcessType</key>
  <string>Interactive</string>
</dict>
</plist>
`;
}

const INSTALLED_HEADER = `  launchd user agent for the clipsync daemon, written by \`clipsync service install\`
  (run it again after moving node or clipsync; by hand: launchd/README.md).`;
const SHIPPED_HEADER = `  launchd user agent for the clipsync daemon. \`clipsync service install\` writes this with
  the paths of your node, your clipsync and your home; to install it by hand, edit the
  ProgramArguments and log paths (see launchd/README.md). Generated: scripts/render-service-files.mjs.`;

function xml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
