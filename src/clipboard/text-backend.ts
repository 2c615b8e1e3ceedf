import clipboardy from 'clipboardy';
import { fail, messageOf } from '../core/errors.js';
import { TEXT_MIME } from '../sync/clip.js';
import type { ClipToWrite, ClipboardBackend, ClipboardSnapshot, Selection } from './backend.js';
import { withDeadline } from './deadline.js';

/**
 * The text-only fallback through clipboardy, for a platform without a native backend (Windows,
 * or a desktop whose native backend cannot start). It has no change events: the watcher polls
 * it, which spawns a process per poll, so it is never chosen where a native backend works.
 */
export class TextBackend implements ClipboardBackend {
  readonly kind = 'text' as const;
  readonly hasEvents = false;
  readonly servesLazily = false;

  constructor(
    readonly reason: string,
    private readonly timeoutMs: number,
  ) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async read(selection: Selection): Promise<ClipboardSnapshot | null> {
    if (selection !== 'clipboard') return null;
    const text = await withDeadline(clipboardy.read(), this.timeoutMs, 'reading the clipboard (clipboardy)');
    return text === '' ? null : { selection, formats: [{ mime: TEXT_MIME, data: Buffer.from(text, 'utf8') }], sensitive: false };
  }

  async write(clip: ClipToWrite): Promise<'written' | 'unsupported'> {
    const text = clip.formats.find((f) => f.mime === TEXT_MIME);
    if (clip.selection !== 'clipboard' || text === undefined) return 'unsupported';
    const chunks: Buffer[] = [];
    for await (const chunk of await text.open()) chunks.push(chunk as Buffer);
    await withDeadline(clipboardy.write(Buffer.concat(chunks).toString('utf8')), this.timeoutMs, 'writing the clipboard (clipboardy)');
    return 'written';
  }

  /** Throws a ClipsyncError saying what is missing when clipboardy cannot reach a clipboard. */
  static async probe(timeoutMs: number): Promise<void> {
    try {
      await withDeadline(clipboardy.read(), timeoutMs, 'reading the clipboard (clipboardy)');
    } catch (err) {
      throw fail('CLIPSYNC_ERR_CLIPBOARD', `the system clipboard is not reachable: ${firstLine(messageOf(err))}`, {
        hint: 'use --clipboard memory on a machine without a desktop clipboard',
      });
    }
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
