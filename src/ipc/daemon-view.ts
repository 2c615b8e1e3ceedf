import type { PeerInfo } from '../peers/peer-types.js';
import type { PairCandidate, PairingInfo } from '../pairing/pairing-types.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { TransferBoard } from '../sync/transfer-board.js';
import type { LocalStore } from './copy-body.js';
import type { ConfigReloadResponse, StatusResponse } from './schema.js';
import type { EffectiveRules } from '../core/config/peer-rules.js';
import type { HistoryDesk } from './history-routes.js';
import type { PauseDesk } from './pause-routes.js';
import type { DaemonEvents } from './daemon-events.js';

/*
 * What the control API needs from the running daemon, and no more: each part lists only what
 * the routes call, so the routes can be tested alone with small in-memory fakes. The daemon's
 * concrete classes satisfy these as they are.
 */

/** The peer table, as `status` and `peers` read it. */
export interface PeerDirectory {
  list(): PeerInfo[];
  connectedCount(): number;
}

/** The pairing requests, as the `pair` routes drive them; `peer` is a name, fingerprint or address. */
export interface PairingDesk {
  candidates(): PairCandidate[];
  pending(): PairingInfo[];
  start(peer: string): Promise<PairingInfo>;
  accept(peer: string, wait: boolean): Promise<PairingInfo>;
  reject(peer: string): PairingInfo;
  wait(peer: string): Promise<PairingInfo>;
}

/**
 * The clip model: the current clip, a copy made here, and the fetch of an announced clip's
 * bytes. Derived, so it follows the engine's signatures.
 */
export type ClipDesk = Pick<SyncEngine, 'currentClip' | 'copyLocal' | 'fetch' | 'fetchAnnounced'>;

/** The system clipboard's watcher: `settled` once every change it was told of has been read. */
export interface ClipboardPoll {
  settled(fresh?: boolean, only?: 'clipboard' | 'primary'): Promise<void>;
}

/** Transfers in flight, listed and followed. */
export type TransferFeed = Pick<TransferBoard, 'list' | 'forPeer' | 'on' | 'off'>;

/** The daemon's live events, as `GET /v1/watch` follows them. */
export type EventFeed = Pick<DaemonEvents, 'subscribe'>;

export interface DaemonView {
  status(): Omit<StatusResponse, 'peers' | 'clip' | 'transfers' | 'pairingPending'>;
  events: EventFeed;
  peers: PeerDirectory;
  pairing: PairingDesk;
  sync: ClipDesk;
  /** Set once the system clipboard is being watched; undefined with the memory clipboard. */
  watcher: ClipboardPoll | undefined;
  maxClipBytes: number;
  /** The most files and folders one files clip may have (config `maxFileEntries`). */
  maxFileEntries: number;
  spoolThresholdBytes: number;
  store: LocalStore | undefined;
  transfers: TransferFeed;
  reloadTrust(): Promise<number>;
  pause: PauseDesk;
  history: HistoryDesk;
  /** A peer's effective rules (config `peerRules`), for `peers`. */
  rulesOf(fingerprint: string | null, name: string | null): EffectiveRules;
  /** Reads config.json again now (`POST /v1/config/reload`): what applied, what needs a restart. */
  reloadConfig(): Promise<ConfigReloadResponse>;
  stop(): void;
}
