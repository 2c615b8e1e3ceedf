import type { InMemoryClip } from '../sync/clip.js';

export type ClipboardKind = 'system' | 'memory';

export interface ClipboardContent {
  data: Buffer;
  mime: string;
}

/** Where clips meet the machine: the desktop clipboard, or nothing but the daemon's memory. */
export interface ClipboardBackend {
  readonly kind: ClipboardKind;
  /** What the clipboard holds now; null when empty or when the backend cannot tell. */
  read(): Promise<ClipboardContent | null>;
  /** Puts a clip on the clipboard; formats the backend cannot hold are left to `clipsync paste`. */
  write(clip: InMemoryClip): Promise<'written' | 'unsupported'>;
}
