import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { planCleanup, type CleanupPlan, type SpoolEntry } from './spool-cleanup.js';

/**
 * Where received files clips live (config `filesDir`): each clip in a directory named by its
 * id, `<id>/` once complete and `<id>.part/` while it arrives, beside `<id>.manifest`, the
 * manifest's bytes (what a resume and `paste --list` read back).
 */
export function receivedPaths(filesDir: string, id: string): { root: string; part: string; complete: string; manifest: string } {
  return { root: filesDir, part: join(filesDir, `${id}.part`), complete: join(filesDir, id), manifest: join(filesDir, `${id}.manifest`) };
}

const NAME = /^([0-9a-f]{64})(\.part|\.manifest)?$/;

/** Every clip in `filesDir`, complete or partial, with its bytes and newest modification time. */
export async function receivedEntries(filesDir: string): Promise<SpoolEntry[]> {
  const names = await readdir(filesDir).catch(() => [] as string[]);
  const byKey = new Map<string, SpoolEntry>();
  for (const name of names) {
    const match = NAME.exec(name);
    if (match === null) continue;
    const id = match[1]!;
    // A manifest goes with its clip: with the part while one arrives, else with the complete one.
    const kind = match[2] === '.part' || (match[2] === '.manifest' && names.includes(`${id}.part`)) ? 'partial' : 'complete';
    const key = `${kind}:${id}`;
    const entry = byKey.get(key) ?? { id, kind, files: [], bytes: 0, mtimeMs: 0 };
    const usage = await diskUsage(join(filesDir, name));
    entry.files.push(join(filesDir, name));
    entry.bytes += usage.bytes;
    entry.mtimeMs = Math.max(entry.mtimeMs, usage.mtimeMs);
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

/**
 * The spool's rules for received files: clips older than `maxAgeMs` go, then the oldest until
 * the directory is under `maxTotalBytes`; never a pinned one (the current clip, one in
 * history, one arriving).
 */
export async function cleanupReceived(filesDir: string, policy: { now: number; maxAgeMs: number; maxTotalBytes: number; isPinned(id: string): boolean }): Promise<CleanupPlan> {
  const plan = planCleanup(await receivedEntries(filesDir), policy);
  const removed = [];
  for (const entry of plan.remove) {
    if (policy.isPinned(entry.id)) continue;
    for (const path of entry.files) await rm(path, { recursive: true, force: true }).catch(() => undefined);
    removed.push(entry);
  }
  return { remove: removed, keptBytes: plan.keptBytes };
}

/** Bytes and newest mtime of a file or a whole folder, symlinks not followed. */
async function diskUsage(path: string): Promise<{ bytes: number; mtimeMs: number }> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return { bytes: 0, mtimeMs: 0 };
  if (!info.isDirectory()) return { bytes: info.size, mtimeMs: info.mtimeMs };
  let bytes = 0;
  let mtimeMs = info.mtimeMs;
  for (const name of await readdir(path).catch(() => [] as string[])) {
    const inner = await diskUsage(join(path, name));
    bytes += inner.bytes;
    mtimeMs = Math.max(mtimeMs, inner.mtimeMs);
  }
  return { bytes, mtimeMs };
}
