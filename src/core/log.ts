import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * The root logger writes JSON lines to stderr so that systemd's journal, launchd's log file
 * and tests all capture it the same way; components log through `child({ component })`.
 */
export type { Logger };

export function createRootLogger(level: LevelWithSilent = levelFromEnv()): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

function levelFromEnv(): LevelWithSilent {
  const wanted = process.env['CLIPSYNC_LOG_LEVEL'];
  const levels: LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  return levels.includes(wanted as LevelWithSilent) ? (wanted as LevelWithSilent) : 'info';
}
