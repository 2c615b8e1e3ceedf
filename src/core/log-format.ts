import { isatty } from 'node:tty';

/**
 * How the daemon writes its log: `json` lines (the journal, launchd's file, tests, anything that
 * reads it back) or `pretty` lines for a person (log-pretty.ts). Apart from log.ts so the
 * command line can name the choices without loading pino.
 */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Pretty on a terminal, JSON lines anywhere else (a pipe, the journal, a file). */
export function defaultLogFormat(): LogFormat {
  return isatty(2) ? 'pretty' : 'json';
}
