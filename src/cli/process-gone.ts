import { readFileSync } from 'node:fs';

/**
 * Whether process `pid` has ended: no such process, or a zombie — it has exited and holds
 * nothing (no sockets, no memory) and only waits for its parent to collect its status. That wait
 * is not ours to shorten: an orphaned daemon's new parent may be an init that reaps every few
 * seconds (some containers' PID 1 takes up to 2 s), which `kill -0` alone would count as running.
 * Part of the CommonJS client build: no import.meta here.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "PID (comm) STATE …": comm may hold spaces and parentheses, the state follows the last ')'.
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return false; // no /proc (macOS): a running process, or one its parent will reap at once
  }
}
