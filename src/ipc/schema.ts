import type { ClipMeta } from '../sync/clip.js';
import type { DeliveryResult } from '../sync/delivery.js';
import type { PeerInfo } from '../peers/peer-types.js';
import type { TransferInfo, TransferOutcome } from '../sync/transfer-board.js';
import type { ClipboardKind } from '../clipboard/backend.js';
import type { EffectiveRules } from '../core/config/peer-rules.js';
import type { PauseInfo } from '../sync/pause-state.js';

/** Response bodies of the control API; the CLI's --json output is built from these. */
export interface StatusResponse {
  running: true;
  pid: number;
  version: string;
  name: string;
  fingerprint: string;
  publicKey: string;
  listen: string[];
  /** `system` when a desktop clipboard is synced, else `memory` (then only copy/paste reach it). */
  clipboard: 'system' | 'memory';
  /** Which backend: x11, wayland, macos, text (clipboardy) or memory, and why it was chosen. */
  clipboardBackend: ClipboardKind;
  clipboardReason: string;
  /** Copies marked secret by a password manager and skipped since start (never sent, never kept). */
  sensitiveSkipped: number;
  /** mDNS discovery: `off` (--no-mdns), `running`, or `disabled` (no link can multicast; retried). */
  mdns: 'off' | 'running' | 'disabled';
  peers: { connected: number; known: number };
  /** `local` false: the clip is announced, its bytes still on the peer (fetched when pasted). */
  clip: (ClipMeta & { local: boolean }) | null;
  startedAt: string;
  /** Set while syncing is paused (`clipsync pause`): since when, and until when (null: until `resume`). */
  paused: PauseInfo | null;
  /** Transfers in flight, either way. */
  transfers: number;
  /** Pairing requests waiting for this side to accept (`clipsync pair --pending`). */
  pairingPending: number;
}

/** One line of `GET /v1/watch`. */
export type WatchEvent =
  | { event: 'status'; status: StatusResponse }
  | { event: 'pairing'; request: import('../pairing/pairing-types.js').PairingInfo }
  | ({ event: 'notice' } & import('./daemon-events.js').Notice);

/** `POST /v1/config/reload`: how the daemon took config.json as it is now. */
export interface ConfigReloadResponse {
  /** False when the file is invalid: nothing changed, and `error` says which key and why. */
  ok: boolean;
  error?: { code: string; message: string; hint?: string };
  /** Keys whose new value is in effect now. */
  applied: string[];
  /** Keys whose new value waits for a restart of the daemon. */
  restartNeeded: string[];
}

/** `peers --json`: each peer with the transfers in flight to or from it. */
export type PeersResponse = (PeerInfo & { transfers: TransferInfo[]; rules: EffectiveRules })[];

/** One line of `GET /v1/events` (and the progress lines of `copy --wait`). */
export type TransferEvent =
  | { event: 'progress'; transfer: TransferInfo }
  | { event: 'end'; transfer: TransferInfo; outcome: TransferOutcome; detail?: string };

/** Lines of `POST /v1/copy?wait=1&progress=1`: progress, then exactly one result or error. */
export type CopyEvent = TransferEvent | { event: 'result'; result: CopyResponse } | { event: 'error'; error: ErrorBody['error'] };

export interface CopyResponse {
  id: string;
  mime: string;
  size: number;
  /** With wait: how each peer connected at the time of the copy fared. */
  peers: DeliveryResult[];
}

/** `paste --list --json`: the current clip's formats, each with its size. */
export interface PasteListResponse {
  id: string;
  origin: string;
  /** The format `paste` gives without --mime. */
  mime: string;
  size: number;
  formats: { mime: string; size: number }[];
  /** False for an announced clip: its bytes are still on the peer, and `paste` fetches them first. */
  local: boolean;
  /** A files clip: its manifest (`paste --list` shows it). */
  files?: FilesManifestView;
}

/** A files clip's manifest as the control API shows it. */
export interface FilesManifestView {
  /** Files and folders. */
  count: number;
  /** Bytes of every file together. */
  totalBytes: number;
  /** Copied for a move on the sending side; pasted as a copy. */
  cut: boolean;
  /** In manifest order: a folder is `{path, dir: true}`, a file `{path, size, exec}`. */
  entries: ({ path: string; dir: true } | { path: string; size: number; exec: boolean })[];
}

/** `copy --files`: the copy's answer, with what was copied and what was left out. */
export interface CopyFilesResponse extends CopyResponse {
  files: { count: number; totalBytes: number };
  /** Symlinks, devices, FIFOs and sockets: never sent. */
  skipped: { path: string; why: string }[];
}

/** Lines of `POST /v1/copy/files?wait=1&progress=1`. */
export type CopyFilesEvent = TransferEvent | { event: 'result'; result: CopyFilesResponse } | { event: 'error'; error: ErrorBody['error'] };

/** `paste --to DIR`: where the clip's top-level entries were written. */
export interface PasteFilesResponse {
  id: string;
  to: string;
  count: number;
  totalBytes: number;
  /** The top-level entries written, as absolute paths. */
  written: string[];
}

/** Lines of `POST /v1/paste/files?progress=1`: the fetch's progress (if its bytes were still on the peer), then one result or error. */
export type PasteFilesEvent = TransferEvent | { event: 'result'; result: PasteFilesResponse } | { event: 'error'; error: ErrorBody['error'] };

/** Lines of `POST /v1/fetch`: progress of the clip's transfer in, then exactly one result or error. */
export type FetchEvent = TransferEvent | { event: 'result'; result: FetchResponse } | { event: 'error'; error: ErrorBody['error'] };

/** The clip `POST /v1/fetch` made local. */
export interface FetchResponse {
  id: string;
  mime: string;
  size: number;
}

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

/** Headers that carry clip metadata on `paste` responses. */
export const CLIP_HEADERS = {
  id: 'x-clipsync-id',
  mime: 'x-clipsync-mime',
  origin: 'x-clipsync-origin',
} as const;

/** `pair --json` (candidates) and the pairing requests of `pair --pending --json`, `--accept`, `--reject`. */
export type { PairCandidate, PairingInfo } from '../pairing/pairing-types.js';
export type { PairingState } from '../pairing/pairing-session.js';
