import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fillingFile } from '../core/filling-files.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { describeClip, formatOffsets, holdsFilesHere, isLocal, isText, mainFormat, type Clip, type ClipFormat } from './clip.js';
import type { SpoolPort } from './ports.js';

/** One remembered clip: its meta and where its bytes are (memory, the spool, or still on the peer that announced it). */
export interface HistoryEntry {
  clip: Clip;
  /** When it became the current clip here (ms since the epoch). */
  copiedAt: number;
  /** The trust-store name of the peer it came from; null for a copy made here. */
  originName: string | null;
  preview: string;
}

/** One element of `GET /v1/history` (docs/CONTROL-API.md). */
export interface HistoryItem {
  n: number;
  id: string;
  mime: string;
  formats: ClipFormat[];
  size: number;
  ts: number;
  origin: string;
  originName: string | null;
  local: boolean;
  preview: string;
  copiedAt: string;
}

/** Longest preview, in characters. */
export const PREVIEW_CHARS = 80;
/** Bytes read for a preview: whitespace runs collapse, so more than 80 characters' worth. */
const PREVIEW_READ_BYTES = 4096;
/** In-memory clips above this are moved to the spool while remembered: 50 clips of 8 MiB must not sit in the daemon's memory. */
export const HISTORY_INLINE_BYTES = 64 * 1024;

/**
 * The last `size` clips, newest first, without duplicates (a clip seen again moves to the
 * front). Spooled clips are pinned while remembered so the spool's clean-up leaves them, and
 * let go when they fall out. Copies marked secret never get here (the engine does not hand
 * them over).
 */
export class ClipHistory {
  private entries: HistoryEntry[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    private size: number,
    /** A port of its own, so its pins are independent of the engines' (spool-service newPort). */
    private readonly spool: SpoolPort | undefined,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  record(clip: Clip, originName: string | null): void {
    if (this.size === 0) return;
    const previous = this.entries.find((e) => e.clip.id === clip.id);
    // A clip's bytes arriving later (an announced one fetched) keep its entry's origin name.
    const kept = bodyOnly(clip);
    const preview = previous?.preview || filesPreview(kept) || previewFromMemory(kept);
    const entry: HistoryEntry = { clip: kept, copiedAt: this.now(), originName: originName ?? previous?.originName ?? null, preview };
    if (previous !== undefined) this.drop(previous, holdsFilesHere(entry.clip));
    this.entries.unshift(entry);
    if (holdsFilesHere(entry.clip)) this.spool?.pin(entry.clip.id);
    this.trim();
    this.emit();
    if (entry.clip.file !== undefined && entry.preview === '') void this.previewFromFile(entry);
    if (entry.clip.data !== undefined && entry.clip.data.length > HISTORY_INLINE_BYTES) void this.moveToSpool(entry);
  }

  /** Newest first; `n` 1 is the newest. */
  list(): HistoryItem[] {
    return this.entries.map((e, i) => itemOf(e, i + 1));
  }

  entry(n: number): HistoryEntry | undefined {
    return Number.isInteger(n) && n >= 1 ? this.entries[n - 1] : undefined;
  }

  all(): readonly HistoryEntry[] {
    return this.entries;
  }

  /** Forgets every clip; returns how many there were. */
  clear(): number {
    const count = this.entries.length;
    for (const entry of this.entries) this.unpin(entry);
    this.entries = [];
    if (count > 0) this.emit();
    return count;
  }

  /** A new `history.size` (live config): the oldest beyond it are let go at once. */
  resize(size: number): void {
    this.size = size;
    if (this.trim()) this.emit();
  }

  /** Entries read back from the history file at start, newest first (their spool files pinned here). */
  restore(entries: HistoryEntry[]): void {
    this.entries = [];
    for (const entry of entries) {
      if (this.entries.some((e) => e.clip.id === entry.clip.id)) continue;
      this.entries.push(entry);
      if (holdsFilesHere(entry.clip)) this.spool?.pin(entry.clip.id);
    }
    this.trim();
    this.emit();
    // Written before a large clip had moved to the spool: move it now.
    for (const entry of this.entries) if (entry.clip.data !== undefined && entry.clip.data.length > HISTORY_INLINE_BYTES) void this.moveToSpool(entry);
  }

  /** Called on every change (a clip remembered, cleared, let go); returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private trim(): boolean {
    if (this.entries.length <= this.size) return false;
    for (const evicted of this.entries.splice(this.size)) this.unpin(evicted);
    return true;
  }

  /** Takes `entry` out; its files stay pinned when the new entry of the same clip keeps them. */
  private drop(entry: HistoryEntry, keepPin: boolean): void {
    this.entries = this.entries.filter((e) => e !== entry);
    if (holdsFilesHere(entry.clip) && !keepPin) this.unpin(entry);
  }

  private unpin(entry: HistoryEntry): void {
    if (holdsFilesHere(entry.clip) && !this.entries.some((e) => e.clip.id === entry.clip.id)) this.spool?.unpin(entry.clip.id);
  }

  /** Stores a large in-memory clip in the spool and keeps only the file (the id names the same bytes). */
  private async moveToSpool(entry: HistoryEntry): Promise<void> {
    const { clip } = entry;
    if (this.spool === undefined || clip.data === undefined) return;
    try {
      const stored = await this.spool.storeLocal(Readable.from([clip.data]), () => clip.formats);
      if (stored.id !== clip.id || !this.entries.includes(entry)) return;
      this.spool.pin(clip.id);
      entry.clip = { ...describeClip(clip), leaves: stored.leaves, file: stored.path };
      this.emit();
    } catch (err) {
      this.log.warn({ clip: clip.id.slice(0, 16), reason: messageOf(err) }, 'cannot keep a history clip in the spool; kept in memory');
    }
  }

  private async previewFromFile(entry: HistoryEntry): Promise<void> {
    const { clip } = entry;
    const range = textRange(clip);
    if (range === undefined || clip.file === undefined) return;
    const length = Math.min(range.size, PREVIEW_READ_BYTES);
    const buffer = Buffer.alloc(length);
    try {
      const reader = fillingFile(clip.file)?.openReader() ?? (await open(clip.file, 'r'));
      try {
        const { bytesRead } = await reader.read(buffer, 0, length, range.start);
        entry.preview = previewOf(buffer.subarray(0, bytesRead).toString('utf8'));
      } finally {
        await reader.close();
      }
      if (this.entries.includes(entry)) this.emit();
    } catch (err) {
      this.log.debug({ clip: clip.id.slice(0, 16), reason: messageOf(err) }, 'no preview for a history clip');
    }
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The clip's meta and body, without what only a transfer needs. */
function bodyOnly(clip: Clip): Clip {
  const kept: Clip = { ...describeClip(clip) };
  if (clip.leaves !== undefined) kept.leaves = clip.leaves;
  if (clip.data !== undefined) kept.data = clip.data;
  else if (clip.file !== undefined) kept.file = clip.file;
  else if (clip.tree !== undefined) kept.tree = clip.tree;
  else if (clip.from !== undefined) kept.from = clip.from;
  if (clip.files !== undefined && clip.tree === undefined) kept.files = clip.files;
  return kept;
}

/** A files clip's preview: how many files and folders, and the first names. */
function filesPreview(clip: Clip): string {
  const manifest = clip.tree?.manifest ?? clip.files?.manifest;
  if (manifest === undefined) return '';
  const roots = manifest.entries.filter((e) => !e.path.includes('/')).map((e) => (e.dir === true ? `${e.path}/` : e.path));
  return previewOf(`${manifest.count} ${manifest.count === 1 ? 'entry' : 'files and folders'}: ${roots.join(', ')}`);
}

export function itemOf(entry: HistoryEntry, n: number): HistoryItem {
  const { clip } = entry;
  return {
    n,
    id: clip.id,
    mime: clip.mime,
    formats: clip.formats.map((f) => ({ mime: f.mime, size: f.size })),
    size: clip.size,
    ts: clip.ts,
    origin: clip.origin,
    originName: entry.originName,
    local: isLocal(clip),
    preview: entry.preview,
    copiedAt: new Date(entry.copiedAt).toISOString(),
  };
}

/** Where the clip's text is in its body: the main format when it is text, else the first text format. */
function textRange(clip: Clip): { start: number; size: number } | undefined {
  const main = mainFormat(clip.formats);
  const format = isText(main.mime) ? main : clip.formats.find((f) => isText(f.mime));
  if (format === undefined) return undefined;
  return { start: formatOffsets(clip.formats)[clip.formats.indexOf(format)]!, size: format.size };
}

function previewFromMemory(clip: Clip): string {
  const range = textRange(clip);
  if (range === undefined || clip.data === undefined) return '';
  return previewOf(clip.data.subarray(range.start, range.start + Math.min(range.size, PREVIEW_READ_BYTES)).toString('utf8'));
}

/** Up to 80 characters: whitespace runs collapsed to one space, other control characters shown as `?`. */
export function previewOf(text: string): string {
  const collapsed = text.replace(/\s+/gu, ' ').trim();
  const visible = collapsed.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/gu, '?');
  return Array.from(visible).slice(0, PREVIEW_CHARS).join('');
}
