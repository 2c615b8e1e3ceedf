// Shared helpers for the benchmarks: statistics, temp keys, a silent logger, machine facts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

export const silentLog = pino({ level: 'silent' });

export function tempDir(prefix = 'cs-bench-') {
  const dir = mkdtempSync(join('/tmp', prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sshKeygen(dir, name, type, bits) {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', '', '-C', name, '-f', path];
  if (bits) args.push('-b', String(bits));
  execFileSync('ssh-keygen', args, { stdio: 'ignore' });
  return path;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, median: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), min: sorted[0] };
}

export function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
}

export const ms = (ns) => Number(ns) / 1e6;
export const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** Seconds that `run` (synchronous: a child process run to its end) took. */
export function secondsOf(run) {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}
