/**
 * What the spool's clean-up removes, as a pure decision over a listing, so the policy is
 * tested without touching a disk: first whatever is older than the age limit, then the
 * oldest until the total fits, never anything pinned (the current clip, transfers in flight).
 */

export interface SpoolEntry {
  id: string;
  /** `complete`: a verified clip; `partial`: an incoming part and its sidecar. */
  kind: 'complete' | 'partial';
  files: string[];
  bytes: number;
  /** The newest modification time among its files. */
  mtimeMs: number;
}

export interface CleanupPolicy {
  now: number;
  maxAgeMs: number;
  maxTotalBytes: number;
  isPinned(id: string): boolean;
}

export interface Removal extends SpoolEntry {
  reason: 'age' | 'size';
}

export interface CleanupPlan {
  remove: Removal[];
  /** Bytes left in the spool once the removals are done (pinned entries included). */
  keptBytes: number;
}

export function planCleanup(entries: readonly SpoolEntry[], policy: CleanupPolicy): CleanupPlan {
  const remove: Removal[] = [];
  const kept: SpoolEntry[] = [];
  for (const entry of entries) {
    if (!policy.isPinned(entry.id) && policy.now - entry.mtimeMs > policy.maxAgeMs) remove.push({ ...entry, reason: 'age' });
    else kept.push(entry);
  }
  let keptBytes = kept.reduce((sum, e) => sum + e.bytes, 0);
  const oldestFirst = kept.filter((e) => !policy.isPinned(e.id)).sort((a, b) => a.mtimeMs - b.mtimeMs || a.id.localeCompare(b.id));
  for (const entry of oldestFirst) {
    if (keptBytes <= policy.maxTotalBytes) break;
    remove.push({ ...entry, reason: 'size' });
    keptBytes -= entry.bytes;
  }
  return { remove, keptBytes };
}
