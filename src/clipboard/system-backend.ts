import clipboardy from 'clipboardy';
import { fail, messageOf } from '../core/errors.js';
import { TEXT_MIME, isText, type InMemoryClip } from '../sync/clip.js';
import type { ClipboardBackend, ClipboardContent } from './backend.js';

/** A read that takes longer than this means the clipboard tool is stuck (no display, hung owner). */
const PROBE_TIMEOUT_MS = 3000;

/**
 * The desktop clipboard through clipboardy (xsel/wl-clipboard on Linux, pbcopy on macOS,
 * PowerShell on Windows). clipboardy handles text only, so other formats stay in the daemon.
 */
export class SystemBackend implements ClipboardBackend {
  readonly kind = 'system' as const;

  async read(): Promise<ClipboardContent | null> {
    const text = await clipboardy.read();
    return text === '' ? null : { data: Buffer.from(text, 'utf8'), mime: TEXT_MIME };
  }

  async write(clip: InMemoryClip): Promise<'written' | 'unsupported'> {
    if (!isText(clip.mime)) return 'unsupported';
    await clipboardy.write(clip.data.toString('utf8'));
    return 'written';
  }

  /** Throws a ClipsyncError saying what is missing when the system clipboard cannot be used. */
  static async probe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        clipboardy.read(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('the clipboard tool did not answer')), PROBE_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      throw fail('CLIPSYNC_ERR_CLIPBOARD', `the system clipboard is not reachable: ${firstLine(messageOf(err))}`, {
        hint:
          process.platform === 'linux'
            ? 'run inside a desktop session (DISPLAY or WAYLAND_DISPLAY set) with xsel or wl-clipboard installed, or use --clipboard memory'
            : 'use --clipboard memory on a machine without a desktop clipboard',
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
