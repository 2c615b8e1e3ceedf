import type { TransferFeed } from '../ipc/daemon-view.js';
import { DaemonEvents } from '../ipc/daemon-events.js';
import type { PeerServices } from './peer-services.js';
import type { SyncControls } from './sync-controls.js';

/**
 * The daemon's events, wired to the parts whose changes `status` shows: peers connecting,
 * leaving or refused; pairing requests; the pause; the clip history (every clip made current,
 * here or received). Transfers are followed by the watch route itself, from the board.
 */
/** The same refusal (peer and reason) is told again only after this long: a redial every 30 s must not flood the desktop. */
const REFUSAL_REPEAT_MS = 60 * 60 * 1000;

export function followDaemon(
  network: Pick<PeerServices, 'peers' | 'pairing'>,
  controls: Pick<SyncControls, 'pause' | 'history'>,
  transfers: Pick<TransferFeed, 'on'>,
  largeClipBytes: () => number,
  now: () => number = Date.now,
): DaemonEvents {
  const events = new DaemonEvents();
  network.peers.onChange(() => events.changed());
  const toldRefusals = new Map<string, number>();
  network.peers.onRefused((refusal) => {
    const key = `${refusal.fingerprint} ${refusal.reason}`;
    const told = toldRefusals.get(key);
    if (told !== undefined && now() - told < REFUSAL_REPEAT_MS) return;
    toldRefusals.set(key, now());
    events.notice({ kind: 'refused', message: refusal.reason, peer: refusal.fingerprint, name: refusal.name });
  });
  // A large clip that failed is worth a word: the user may be waiting for it.
  transfers.on('end', (transfer, outcome, detail) => {
    if (outcome !== 'failed' || transfer.total <= largeClipBytes()) return;
    const way = transfer.direction === 'send' ? `to ${transfer.name}` : `from ${transfer.name}`;
    events.notice({ kind: 'failed', message: `a ${Math.round(transfer.total / 1024 / 1024)} MiB clip ${way} failed${detail === undefined ? '' : `: ${detail}`}`, peer: transfer.peer, name: transfer.name });
  });
  // Requests told of, by key: a request from a peer with its code is told once, while it waits.
  const announced = new Map<string, string>();
  network.pairing.onChange((request) => {
    events.pairing(request);
    events.changed();
    if (request.state !== 'pending') announced.delete(request.fingerprint);
    else if (request.direction === 'inbound' && request.code !== null && announced.get(request.fingerprint) !== request.code) {
      announced.set(request.fingerprint, request.code);
      events.notice({
        kind: 'pairing',
        message: `${request.name} asks to pair; code ${request.code}. If it shows the same code: clipsync pair --accept ${request.fingerprint}`,
        peer: request.fingerprint,
        name: request.name,
      });
    }
  });
  controls.pause.onChange(() => events.changed());
  let newest: string | undefined;
  controls.history.onChange(() => {
    events.changed();
    // A clip from a peer just became the current one here.
    const entry = controls.history.all()[0];
    if (entry === undefined || entry.clip.id === newest) return;
    newest = entry.clip.id;
    if (entry.originName === null) return;
    events.notice({ kind: 'received', message: `a clip from ${entry.originName}: ${entry.preview || `${entry.clip.mime}, ${entry.clip.size} bytes`}`, peer: entry.clip.origin, name: entry.originName });
  });
  return events;
}
