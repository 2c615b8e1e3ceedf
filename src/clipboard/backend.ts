import type { Readable } from 'node:stream';

/**
 * The desktop clipboard as the daemon sees it, whatever the platform: read every format a copy
 * offers, write every format of a clip at once, and say when the clipboard changed. Each
 * platform's backend lives in its own folder (x11/, wayland/, macos/); select-backend.ts picks one.
 */

/** Which backend runs: the platform's own, clipboardy's text-only fallback, or none (memory). */
export type ClipboardKind = 'x11' | 'wayland' | 'macos' | 'text' | 'memory';

/** X11 and Wayland have two: CLIPBOARD (Ctrl+C) and PRIMARY (the mouse selection). */
export type Selection = 'clipboard' | 'primary';

/** One representation of a copy as the desktop offered it, its bytes untouched. */
export interface Representation {
  /** A media type (`text/html`), or the platform's own name where it has no media type (an X11 target). */
  mime: string;
  data: Buffer;
}

/** What a selection held at one moment. */
export interface ClipboardSnapshot {
  selection: Selection;
  /** The formats that `ReadOptions.accept` let through, each read whole, in the owner's order. */
  formats: Representation[];
  /**
   * The platform itself marked the copy secret (Wayland's `CLIPBOARD_STATE=sensitive`). Hints that
   * are formats (`x-kde-passwordManagerHint`, `org.nspasteboard.ConcealedType`) are returned as
   * formats instead, and judged in formats.ts, the one place that knows them all.
   */
  sensitive: boolean;
}

/** How much of a copy to read: formats.ts decides which types travel and how large they may be. */
export interface ReadOptions {
  /** True for a type worth reading (it travels, or it is a password-manager hint). */
  accept(mime: string): boolean;
  /** The most bytes one format may have; a larger one is skipped, the rest still read. */
  maxFormatBytes: number;
}

/** One format of a clip being put on the clipboard. Its bytes are opened only when needed. */
export interface OutgoingFormat {
  mime: string;
  size: number;
  /**
   * The bytes, streamed: from memory, from the spool, or (for a lazy clip) fetched from the peer
   * first. May take long for a lazy clip, and may reject (the peer is gone).
   */
  open(): Promise<Readable>;
}

export interface ClipToWrite {
  selection: Selection;
  /** Content id of the clip: lets a backend tell its own write from a new copy. */
  id: string;
  formats: OutgoingFormat[];
  /** False for a lazy clip: its bytes are still on the peer, and `open()` fetches them. */
  local: boolean;
}

/** What a backend reports; the daemon (watcher.ts) reads the clipboard when told it changed. */
export interface BackendEvents {
  /** The selection's owner changed: a copy was made (possibly clipsync's own write; the watcher dedupes). */
  changed(selection: Selection): void;
  /** The display came back after going away: the daemon offers its current clip again. */
  reconnected(): void;
}

export interface ClipboardBackend {
  readonly kind: ClipboardKind;
  /** Why this backend was chosen, for `status` and the log. */
  readonly reason: string;
  /** True when `changed` events come from the platform; false means the watcher must poll. */
  readonly hasEvents: boolean;
  /** True when the backend can offer a clip whose bytes are fetched only when an app asks for them. */
  readonly servesLazily: boolean;
  /** Connects and starts reporting events. */
  start(events: BackendEvents): Promise<void>;
  /**
   * What the selection holds now; null when it is empty or has no accepted format. Every read has
   * a deadline: a frozen owner rejects with CLIPSYNC_ERR_CLIPBOARD instead of hanging.
   */
  read(selection: Selection, options: ReadOptions): Promise<ClipboardSnapshot | null>;
  /** Offers every format of the clip at once; 'unsupported': this backend cannot hold any of them. */
  write(clip: ClipToWrite): Promise<'written' | 'unsupported'>;
  /** Stops events, hands an owned clip to a clipboard manager where there is one, and disconnects. */
  stop(): Promise<void>;
}
