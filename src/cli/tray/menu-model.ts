import type { StatusResponse } from '../../ipc/schema.js';
import type { PairingInfo } from '../../pairing/pairing-types.js';
import type { HistoryItem } from '../../sync/clip-history.js';
import { barState, type BarState } from '../status-formats.js';

/** What the tray knows of the daemon: its status (null: not running), recent clips, pairing requests. */
export interface TrayState {
  status: StatusResponse | null;
  history: readonly HistoryItem[];
  pairing: readonly PairingInfo[];
}

export type TrayAction =
  | { kind: 'history-get'; n: number }
  | { kind: 'pause'; seconds?: number }
  | { kind: 'resume' }
  | { kind: 'accept'; peer: string }
  | { kind: 'reject'; peer: string }
  | { kind: 'open-log' }
  | { kind: 'quit' };

export interface MenuItem {
  id: number;
  label?: string;
  type?: 'separator';
  enabled?: boolean;
  children?: MenuItem[];
  action?: TrayAction;
}

/** Recent clips listed in the menu. */
export const MENU_CLIPS = 8;

/**
 * The tray's menu for a state, as a tree with ids 1… in order (0 is the root). Pure: the same
 * state gives the same menu, so the tray tells the host about a new layout only when it changed.
 */
export function buildMenu(state: TrayState): MenuItem {
  let next = 1;
  const item = (fields: Omit<MenuItem, 'id'>): MenuItem => ({ id: next++, ...fields });
  const separator = (): MenuItem => item({ type: 'separator' });
  const items: MenuItem[] = [];
  const { status } = state;
  items.push(item({ label: summary(state), enabled: false }));
  if (status !== null) {
    for (const request of state.pairing.filter((r) => r.state === 'pending' && r.code !== null && !r.acceptedHere)) {
      items.push(separator());
      items.push(item({ label: `Pair with ${request.name}? Code ${request.code}`, enabled: false }));
      items.push(item({ label: 'Accept (the codes match)', action: { kind: 'accept', peer: request.fingerprint } }));
      items.push(item({ label: 'Reject', action: { kind: 'reject', peer: request.fingerprint } }));
    }
    if (state.history.length > 0) {
      items.push(separator());
      const clips = state.history.slice(0, MENU_CLIPS).map((c) => item({ label: clipLabel(c), action: { kind: 'history-get', n: c.n } }));
      items.push(item({ label: 'Recent clips', children: clips }));
    }
    items.push(separator());
    if (status.paused) {
      items.push(item({ label: status.paused.until === null ? 'Paused' : `Paused until ${clock(status.paused.until)}`, enabled: false }));
      items.push(item({ label: 'Resume sync', action: { kind: 'resume' } }));
    } else {
      items.push(item({ label: 'Pause sync', action: { kind: 'pause' } }));
      items.push(item({ label: 'Pause for 1 hour', action: { kind: 'pause', seconds: 3600 } }));
    }
  }
  items.push(separator());
  items.push(item({ label: 'Open log', action: { kind: 'open-log' } }));
  items.push(item({ label: 'Quit tray', action: { kind: 'quit' } }));
  return { id: 0, children: items };
}

/** "2 peers connected", "clipsync is not running", with a pause or transfers said. */
export function summary(state: TrayState): string {
  const { status } = state;
  if (status === null) return 'clipsync is not running';
  const peers = `${status.peers.connected} peer${status.peers.connected === 1 ? '' : 's'} connected`;
  if (status.transfers > 0) return `${peers}, ${status.transfers} transfer${status.transfers === 1 ? '' : 's'}`;
  return peers;
}

/** The icon's state; a pairing request waiting is not a state of its own (the tray asks for attention). */
export function trayState(state: TrayState): BarState {
  return barState(state.status);
}

/** Finds the item with `id` in the tree. */
export function findItem(root: MenuItem, id: number): MenuItem | undefined {
  if (root.id === id) return root;
  for (const child of root.children ?? []) {
    const found = findItem(child, id);
    if (found !== undefined) return found;
  }
  return undefined;
}

function clipLabel(c: HistoryItem): string {
  const text = c.preview !== '' ? c.preview : c.mime;
  const short = text.length > 40 ? `${text.slice(0, 39)}…` : text;
  // dbusmenu reads `_` as a mnemonic marker: doubled, it is shown as itself.
  return `${short.replaceAll('_', '__')}${c.local ? '' : ' (not fetched)'}`;
}

function clock(iso: string): string {
  return new Date(iso).toTimeString().slice(0, 5);
}
