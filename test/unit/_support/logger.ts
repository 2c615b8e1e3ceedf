import { pino, type Logger } from 'pino';

/** Unit-test support: a real pino logger whose JSON lines are kept in memory. */
export interface CapturedLog {
  log: Logger;
  lines: Record<string, unknown>[];
  /** Lines at `level` (pino's numbers: 30 info, 40 warn, 50 error). */
  at(level: 'debug' | 'info' | 'warn' | 'error'): Record<string, unknown>[];
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) });
  return { log, lines, at: (level) => lines.filter((l) => l['level'] === LEVELS[level]) };
}
