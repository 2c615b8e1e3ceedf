import type { Readable } from 'node:stream';
import type { Frame, FrameTypeValue } from '../wire/frame.js';
import type { Clip, ClipFormat, ClipMeta } from './clip.js';
import type { IncomingSink } from './clip-body.js';
import type { FileManifest } from '../files/manifest.js';

/**
 * What the sync layer needs from the rest of the daemon, and nothing more. The daemon hands it
 * a protocol Connection (which fits `PeerChannel` as it is), the spool's port and the
 * clipboard's port; tests hand it in-memory ones. Sync itself imports none of them.
 */

/** How a channel ended: a WebSocket close code and its reason. */
export interface ChannelClose {
  code: number;
  reason: string;
}

/** An authenticated, encrypted connection to one peer, carrying frames. */
export interface PeerChannel {
  /** False once the channel began to close: sends then fail, and `close` has been (or will be) emitted. */
  readonly isOpen: boolean;
  /** The most body bytes one frame may carry: the size of a DATA chunk. */
  readonly maxBodyBytes: number;
  /** Sends a frame, waiting while the channel's buffers are full. Rejects once closed. */
  send(type: FrameTypeValue, header: object, body?: Buffer): Promise<void>;
  close(code: number, reason: string): void;
  on(event: 'frame', listener: (frame: Frame) => void): unknown;
  once(event: 'close', listener: (info: ChannelClose) => void): unknown;
}

/** A connected, authenticated peer as the sync layer sees it. */
export interface PeerSession {
  fingerprint: string;
  name: string;
  channel: PeerChannel;
}

/** An incoming files clip: written straight into its own directory, its manifest known once its bytes are in. */
export interface FilesIncomingSink extends IncomingSink {
  readonly manifest: FileManifest | undefined;
  /** Where the top-level entries will be once the clip is complete (known with the manifest). */
  readonly roots: string[] | undefined;
}

/** Large clips live in files: what the engine and the copy route need of the spool. */
export interface SpoolPort {
  /** A sink for a large incoming clip, resuming from a part file left by an earlier try. */
  beginIncoming(meta: ClipMeta): Promise<IncomingSink>;
  /**
   * A sink for a files clip (`isFilesMeta`), resuming from the files an earlier try left;
   * undefined where this daemon keeps no received files.
   */
  beginFiles?(meta: ClipMeta): Promise<FilesIncomingSink>;
  /** Keeps the spool's cleanup away from a file in use (the current clip). */
  pin(id: string): void;
  unpin(id: string): void;
  /**
   * Stores a local copy (`clipsync copy` of a large body) under its content id; `formatsOf`
   * names its formats once its size is known (the id covers them).
   */
  storeLocal(source: Readable | AsyncIterable<Buffer>, formatsOf: (size: number) => ClipFormat[]): Promise<{ id: string; size: number; path: string; leaves: Buffer }>;
  /**
   * Stores a copy of the file at `path` (`clipsync copy FILE`): resolves once the file is
   * hashed (each piece shown to `inspect` before the formats are asked for; over `maxBytes`
   * nothing is kept), with the file held open; the clip at `path` of the result is readable
   * from then on, and `copy` makes the spool's own copy of it.
   */
  storeLocalFile(
    path: string,
    formatsOf: (size: number) => ClipFormat[],
    options?: { inspect?: (piece: Buffer) => void; maxBytes?: number },
  ): Promise<{ id: string; size: number; path: string; leaves: Buffer; copy: LocalFileCopy }>;
}

/** The spool's copy of a file the user copied, made when its caller says (spool.ts). */
export interface LocalFileCopy {
  /** Makes the copy (once; later calls return the same promise); resolves when it is in place, rejects with FILE_CHANGED when the file changed in place. */
  start(): Promise<void>;
  /** Lets it go unmade (the clip was refused): readers of it fail, the file is released. */
  cancel(): Promise<void>;
}

/** Where received clips meet the desktop. */
export interface ClipboardPort {
  /**
   * Puts a clip on the system clipboard (every format at once, its bytes from memory or the
   * spool), marked as clipsync's own write so that reading it back is not taken for a new
   * local copy. 'unsupported': the clipboard cannot hold any of its types. 'superseded':
   * `stillCurrent` turned false first (a copy made here meanwhile, seen by the watcher).
   *
   * The port must also take a clip with neither `data` nor `file` (`isLocal(clip)` false): an
   * announced clip whose bytes are still on peer `clip.from`. A backend that serves lazily
   * offers its formats and calls `SyncEngine.fetch(clip.id)` when an app asks for them; one
   * that cannot answers 'unsupported' (`paste` fetches it). Once fetched, the engine writes
   * the same clip (same id) again, now with its body.
   */
  write(clip: Clip, stillCurrent: () => boolean): Promise<'written' | 'unsupported' | 'superseded'>;
}
