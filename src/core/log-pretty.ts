/**
 * The daemon's log for people: one short line per record, for a terminal. Done here, in the
 * daemon's own thread, and not by pino-pretty or a pino transport: a transport is a worker
 * thread, and the daemon runs --single-threaded and watches its memory. It reads back the JSON
 * line pino made (a log record, not a hot path) and writes:
 *
 *   14:03:12.345 WARN  peers: dial failed address=tcp://desktop:25470 err="connect ECONNREFUSED"
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** What the line's head already says, or what a person does not need on every line. */
const HEAD_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function formatPrettyLine(record: Record<string, unknown>): string {
  const time = typeof record['time'] === 'number' ? localTime(new Date(record['time'])) : '--:--:--.---';
  const level = (LEVELS[record['level'] as number] ?? String(record['level'])).padEnd(5);
  const component = typeof record['component'] === 'string' ? `${record['component']}: ` : '';
  const fields = Object.entries(record)
    .filter(([key, value]) => !HEAD_KEYS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  return [`${time} ${level} ${component}${msg}`, ...fields].join(' ');
}

/** A pino destination that writes pretty lines through `write` (stderr, synchronously). */
export function prettyDestination(write: (text: string) => void): { write(chunk: string): void } {
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          write(`${line}\n`);
          continue;
        }
        write(`${formatPrettyLine(record as Record<string, unknown>)}\n`);
      }
    },
  };
}

function localTime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function formatValue(value: unknown): string {
  if (isSerializedError(value)) return quote(value.message);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => (typeof v === 'string' ? shorten(v) : String(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'string') return quote(shorten(value));
  return String(value);
}

/** pino's err serializer gives `{type, message, stack}`: the message says it on one line. */
function isSerializedError(value: unknown): value is { message: string } {
  return value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string' && 'stack' in value;
}

/** Fingerprints are 50 characters; the first ten of the hash tell peers apart in a log. */
function shorten(text: string): string {
  return FINGERPRINT.test(text) ? `${text.slice(0, 17)}…` : text;
}

function quote(text: string): string {
  return text !== '' && /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
}
