import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { HistoryEntry } from '../sync/clip-history.js';

/**
 * `history.persist`: the history as one JSON file under the state dir, private to the user
 * (0600), rewritten whole and atomically after each change. Small clips are in it (base64);
 * large ones stay in the spool, named by their id, and only their meta is here.
 */
interface StoredEntry {
  id: string;
  formats: { mime: string; size: number }[];
  mime: string;
  size: number;
  ts: number;
  origin: string;
  originName: string | null;
  copiedAt: string;
  preview: string;
  leaves?: string;
  data?: string;
  file?: string;
  from?: string;
}

const VERSION = 1;

export async function saveHistory(path: string, entries: readonly HistoryEntry[]): Promise<void> {
  const stored: StoredEntry[] = entries.map(({ clip, copiedAt, originName, preview }) => ({
    id: clip.id,
    formats: clip.formats,
    mime: clip.mime,
    size: clip.size,
    ts: clip.ts,
    origin: clip.origin,
    originName,
    copiedAt: new Date(copiedAt).toISOString(),
    preview,
    ...(clip.leaves !== undefined ? { leaves: clip.leaves.toString('base64') } : {}),
    ...(clip.data !== undefined ? { data: clip.data.toString('base64') } : {}),
    ...(clip.file !== undefined ? { file: clip.file } : {}),
    ...(clip.from !== undefined ? { from: clip.from } : {}),
  }));
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify({ version: VERSION, entries: stored })}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/** The entries of the history file, newest first; a missing, unreadable or foreign file gives none (and a warning). Entries whose spool file is gone are left out. */
export async function loadHistory(path: string, log: Logger): Promise<HistoryEntry[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file: path, reason: messageOf(err) }, 'history file unreadable; starting with an empty history');
    return [];
  }
  const body = raw as { version?: unknown; entries?: unknown };
  if (body.version !== VERSION || !Array.isArray(body.entries)) {
    log.warn({ file: path }, 'history file not understood; starting with an empty history');
    return [];
  }
  const entries: HistoryEntry[] = [];
  for (const item of body.entries as StoredEntry[]) {
    try {
      if (item.file !== undefined && !(await stat(item.file)).isFile()) continue;
    } catch {
      continue; // its spool file was cleaned up while the daemon was stopped
    }
    if (typeof item.id !== 'string' || !Array.isArray(item.formats) || typeof item.size !== 'number') continue;
    entries.push({
      clip: {
        id: item.id,
        formats: item.formats,
        mime: item.mime,
        size: item.size,
        ts: item.ts,
        origin: item.origin,
        ...(item.leaves !== undefined ? { leaves: Buffer.from(item.leaves, 'base64') } : {}),
        ...(item.data !== undefined ? { data: Buffer.from(item.data, 'base64') } : {}),
        ...(item.file !== undefined ? { file: item.file } : {}),
        ...(item.from !== undefined ? { from: item.from } : {}),
      },
      copiedAt: Date.parse(item.copiedAt) || Date.now(),
      originName: item.originName ?? null,
      preview: typeof item.preview === 'string' ? item.preview : '',
    });
  }
  return entries;
}

/** `history.persist` off (or `history clear` with it off): no copy of the history stays on disk. */
export async function removeHistory(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
