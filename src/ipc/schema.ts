import type { ClipMeta } from '../sync/clip.js';
import type { DeliveryResult } from '../sync/delivery.js';
import type { PeerInfo } from '../peers/peer-types.js';
import type { ClipboardKind } from '../clipboard/backend.js';

/** Response bodies of the control API; the CLI's --json output is built from these. */
export interface StatusResponse {
  running: true;
  pid: number;
  version: string;
  name: string;
  fingerprint: string;
  publicKey: string;
  listen: string[];
  clipboard: ClipboardKind;
  peers: { connected: number; known: number };
  clip: ClipMeta | null;
  startedAt: string;
}

export type PeersResponse = PeerInfo[];

export interface CopyResponse {
  id: string;
  mime: string;
  size: number;
  /** With wait: how each peer connected at the time of the copy fared. */
  peers: DeliveryResult[];
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
