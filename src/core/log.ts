import { pino, type Logger, type LevelWithSilent } from 'pino';
import { defaultLogFormat, type LogFormat } from './log-format.js';
import { prettyDestination } from './log-pretty.js';

/**
 * The root logger writes to stderr: JSON lines (so systemd's journal, launchd's log file and
 * tests all capture it the same way), or one short line per record for a person at a terminal
 * (`--log-format pretty`, the default when stderr is one). Components log through
 * `child({ component })`.
 */
export type { Logger };

export function createRootLogger(level: LevelWithSilent = levelFromEnv(), format: LogFormat = defaultLogFormat()): Logger {
  const options = { level, base: { pid: process.pid } };
  const stderr = pino.destination({ fd: 2, sync: true });
  return pino(options, format === 'json' ? stderr : prettyDestination((text) => stderr.write(text)));
}

export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

function levelFromEnv(): LevelWithSilent {
  const wanted = process.env['CLIPSYNC_LOG_LEVEL'];
  const levels: LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  return levels.includes(wanted as LevelWithSilent) ? (wanted as LevelWithSilent) : 'info';
}
