import { DaemonEvents } from '../../../src/ipc/daemon-events.js';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Clock } from '../../../src/core/clock.js';
import { ClipsyncError } from '../../../src/core/errors.js';
import { IpcClient } from '../../../src/ipc/client.js';
import type { ClipDesk, DaemonView, PairingDesk, PeerDirectory } from '../../../src/ipc/daemon-view.js';
import { buildRoutes } from '../../../src/ipc/routes.js';
import { IpcServer } from '../../../src/ipc/server.js';
import type { PairCandidate, PairingInfo } from '../../../src/pairing/pairing-types.js';
import type { PeerInfo } from '../../../src/peers/peer-types.js';
import { clipId, mainFormat, type ClipFormat } from '../../../src/sync/clip.js';
import type { DeliveryResult } from '../../../src/sync/delivery.js';
import { TransferBoard, type TransferInfo } from '../../../src/sync/transfer-board.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';
import { captureLog, type CapturedLog } from '../_support/logger.js';
import { rulesFor } from '../../../src/core/config/peer-rules.js';
import { ClipHistory } from '../../../src/sync/clip-history.js';
import { PauseState } from '../../../src/sync/pause-state.js';

/*
 * Unit-test support for the control API: the real IpcServer with the real route table, on a
 * Unix socket in a temp directory, called with the real IpcClient (as the CLI calls it). The
 * daemon behind it is a set of small in-memory fakes and a real TransferBoard.
 */

type Clip = NonNullable<ReturnType<ClipDesk['currentClip']>>;
type CopyArgs = Parameters<ClipDesk['copyLocal']>;
type PendingDelivery = Awaited<ReturnType<ClipDesk['copyLocal']>>['deliveries'][number];

/** A peer's answer to a copy that the test settles when it likes. */
export interface FakeDelivery extends PendingDelivery {
  resolve(result: DeliveryResult): void;
  reject(err: unknown): void;
}

export function pendingDelivery(fingerprint: string, name: string): FakeDelivery {
  let resolve!: (result: DeliveryResult) => void;
  let reject!: (err: unknown) => void;
  const result = new Promise<DeliveryResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => undefined); // the route sees it; unhandled only when a test never asks
  return { fingerprint, name, result, resolve, reject };
}

/** The clip model: holds one clip, records each copy, hands out the deliveries the test set. */
export class FakeSync implements ClipDesk {
  clip: Clip | undefined;
  readonly copies: { body: CopyArgs[0]; formats: ClipFormat[]; source: string }[] = [];
  /** What the next copy returns as its per-peer deliveries. */
  deliveries: PendingDelivery[] = [];
  private ts = 1_000;

  currentClip(): Clip | undefined {
    return this.clip;
  }

  readonly copyLocal: ClipDesk['copyLocal'] = async (body, formats, source) => {
    this.copies.push({ body, formats, source });
    const mime = mainFormat(formats).mime;
    const clip: Clip =
      body.data !== undefined
        ? { id: clipId(formats, body.data), formats, mime, size: body.data.length, ts: ++this.ts, origin: SELF, data: body.data }
        : { id: body.id!, formats, mime, size: body.size!, ts: ++this.ts, origin: SELF, file: body.file };
    this.clip = clip;
    return { clip, deliveries: this.deliveries };
  };

  /** The current clip when its bytes are here; an announced one cannot be fetched from this fake. */
  readonly fetch: ClipDesk['fetch'] = async (id) => {
    if (this.clip?.id === id && (this.clip.data !== undefined || this.clip.file !== undefined)) return this.clip;
    throw new ClipsyncError('CLIPSYNC_ERR_NOT_FETCHED', `clip ${id.slice(0, 16)}… cannot be fetched here`);
  };

  readonly fetchAnnounced: ClipDesk['fetchAnnounced'] = async (clip) => this.fetch(clip.id);
}

export class FakePeers implements PeerDirectory {
  peers: PeerInfo[] = [];
  connected = 0;
  /** Thrown by list(), to see how the server answers an unexpected failure. */
  failure: Error | undefined;

  list(): PeerInfo[] {
    if (this.failure !== undefined) throw this.failure;
    return this.peers;
  }

  connectedCount(): number {
    return this.connected;
  }
}

/** Pairing: records each call and answers with `info` (or throws `failure`). */
export class FakePairing implements PairingDesk {
  readonly calls: string[] = [];
  candidateList: PairCandidate[] = [];
  pendingList: PairingInfo[] = [];
  failure: Error | undefined;

  constructor(private readonly info: (peer: string) => PairingInfo) {}

  candidates(): PairCandidate[] {
    return this.candidateList;
  }

  pending(): PairingInfo[] {
    return this.pendingList;
  }

  async start(peer: string): Promise<PairingInfo> {
    return this.answer(`start ${peer}`, peer);
  }

  async accept(peer: string, wait: boolean): Promise<PairingInfo> {
    return this.answer(`accept ${peer} wait=${wait}`, peer);
  }

  reject(peer: string): PairingInfo {
    return this.answer(`reject ${peer}`, peer);
  }

  async wait(peer: string): Promise<PairingInfo> {
    return this.answer(`wait ${peer}`, peer);
  }

  private answer(call: string, peer: string): PairingInfo {
    this.calls.push(call);
    if (this.failure !== undefined) throw this.failure;
    return this.info(peer);
  }
}

export const SELF = 'SHA256:self';

export function pairingInfo(peer: string, state: PairingInfo['state'] = 'pending'): PairingInfo {
  return {
    fingerprint: `SHA256:${peer}`,
    name: peer,
    address: 'tcp://192.0.2.7:25470',
    direction: 'outbound',
    state,
    code: '482913',
    acceptedHere: false,
    acceptedByPeer: false,
    expiresInSec: 97,
    detail: null,
  };
}

export function peerInfo(fingerprint: string | null, name: string | null, state: PeerInfo['state'] = 'connected'): PeerInfo {
  return {
    fingerprint,
    name,
    address: 'tcp://192.0.2.8:25470',
    state,
    since: '2026-01-01T00:00:00.000Z',
    direction: state === 'connected' ? 'outbound' : null,
    attempt: 0,
    nextRetryMs: null,
    lastError: null,
    rttMs: state === 'connected' ? 0.4 : null,
    discovered: false,
  };
}

/** What TransferBoard.start takes: a transfer before any bytes. */
export function transfer(id: string, direction: TransferInfo['direction'], peer: string, total = 100): Omit<TransferInfo, 'bytes' | 'rate' | 'etaMs' | 'startedAt'> {
  return { id, direction, peer, name: peer.replace('SHA256:', ''), mime: 'application/octet-stream', total, resumedFrom: 0 };
}

export const STATUS = {
  running: true,
  pid: 4242,
  version: '9.9.9',
  name: 'unit',
  fingerprint: SELF,
  publicKey: 'ssh-ed25519 AAAA unit',
  listen: ['tcp://127.0.0.1:25470'],
  clipboard: 'memory',
  clipboardBackend: 'memory',
  clipboardReason: 'chosen with --clipboard memory',
  sensitiveSkipped: 0,
  mdns: 'off',
  startedAt: '2026-01-01T00:00:00.000Z',
  paused: null,
} as const;

export interface FakeDaemon {
  view: DaemonView;
  sync: FakeSync;
  peers: FakePeers;
  pairing: FakePairing;
  board: TransferBoard;
  /** The board's clock; transfers move only when the test says so. */
  boardNow: { ms: number };
  trustReloads: number;
  stops: number;
}

export function fakeDaemon(overrides: Partial<DaemonView> = {}): FakeDaemon {
  const boardNow = { ms: 1_000_000 };
  const board = new TransferBoard(() => boardNow.ms);
  const fake: FakeDaemon = {
    sync: new FakeSync(),
    peers: new FakePeers(),
    pairing: new FakePairing((peer) => pairingInfo(peer)),
    board,
    boardNow,
    trustReloads: 0,
    stops: 0,
    view: undefined as unknown as DaemonView,
  };
  fake.view = {
    status: () => ({ ...STATUS, listen: [...STATUS.listen] }),
    peers: fake.peers,
    pairing: fake.pairing,
    sync: fake.sync,
    watcher: undefined,
    maxClipBytes: 1024 * 1024,
    maxFileEntries: 100_000,
    spoolThresholdBytes: 64 * 1024,
    store: undefined,
    transfers: board,
    events: new DaemonEvents(),
    reloadTrust: async () => {
      fake.trustReloads += 1;
      return 2;
    },
    pause: new PauseState(),
    history: new ClipHistory(50, undefined, captureLog().log),
    rulesOf: (fingerprint, name) => rulesFor({}, fingerprint, name),
    reloadConfig: async () => ({ ok: true, applied: [], restartNeeded: [] }),
    stop: () => {
      fake.stops += 1;
    },
    ...overrides,
  };
  return fake;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ControlApi {
  client: IpcClient;
  /** A private temp directory, also for spool files made by a test. */
  dir: string;
  log: CapturedLog;
  /** A plain HTTP request, to see status codes and headers the client does not expose. */
  raw(method: string, path: string, body?: Buffer): Promise<RawAnswer>;
  close(): Promise<void>;
}

export async function startControlApi(view: DaemonView, clock?: Clock): Promise<ControlApi> {
  const dir = makeTempDir('cs-ipc-');
  const socketPath = join(dir, 'control.sock');
  const log = captureLog();
  const server = new IpcServer(socketPath, buildRoutes(view, clock), log.log);
  await server.listen();
  return {
    client: new IpcClient(socketPath),
    dir,
    log,
    raw: (method, path, body) =>
      new Promise<RawAnswer>((resolve, reject) => {
        const req = request({ socketPath, method, path }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => {
      await server.close();
      removeDir(dir);
    },
  };
}

/** The ClipsyncError a control request failed with (the client rebuilds it from the answer). */
export async function errorOf(promise: Promise<unknown>): Promise<ClipsyncError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ClipsyncError) return err;
    throw err;
  }
  throw new Error('the request succeeded; an error was expected');
}

/** The error body of a raw answer. */
export function errorBody(answer: RawAnswer): { code: string; message: string; hint?: string } {
  return (JSON.parse(answer.body.toString('utf8')) as { error: { code: string; message: string; hint?: string } }).error;
}
