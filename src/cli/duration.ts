import { fail } from '../core/errors.js';

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1 };

/**
 * `pause --for`: `90s`, `10m`, `1h`, `1h30m`, `2.5m`, or plain seconds (`45`, `0.5`), in
 * seconds. Anything else, or nothing at all, is a usage error naming the accepted forms.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) seconds = Number(trimmed);
  else if (/^(\d+(\.\d+)?[hms])+$/.test(trimmed)) {
    seconds = 0;
    for (const [, value, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) seconds += Number(value) * UNIT_SECONDS[unit!]!;
  } else seconds = NaN;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw fail('CLIPSYNC_ERR_USAGE', `"${text}" is not a duration`, { hint: 'give one like 90s, 10m, 1h, 1h30m, or plain seconds' });
  }
  return seconds;
}

/** "9m 12s", "1h 30m", "45s": how long until something, for people. */
export function describeWait(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m ${s}s` : `${m}m`;
  return `${s}s`;
}
