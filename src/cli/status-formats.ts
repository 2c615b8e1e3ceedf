import { formatBytes } from './progress-bar.js';
import type { HistoryItem } from '../sync/clip-history.js';
import type { StatusResponse } from '../ipc/schema.js';

/** Status bar formats of `clipsync status --format`. */
export type BarFormat = 'waybar' | 'i3blocks' | 'xbar';
export const BAR_FORMATS: readonly BarFormat[] = ['waybar', 'i3blocks', 'xbar'];

/**
 * What a status bar shows, one word (waybar's `class` and `alt`, the tray's icon): `error`
 * is a daemon that is not running.
 */
export type BarState = 'idle' | 'transferring' | 'paused' | 'no-peers' | 'error';

export function barState(status: StatusResponse | null): BarState {
  if (status === null) return 'error';
  if (status.paused) return 'paused';
  if (status.transfers > 0) return 'transferring';
  if (status.peers.connected === 0) return 'no-peers';
  return 'idle';
}

/** The short text: "clipsync 2", "clipsync paused", "clipsync off". */
function shortText(status: StatusResponse | null, state: BarState): string {
  switch (state) {
    case 'error':
      return 'clipsync off';
    case 'paused':
      return 'clipsync paused';
    case 'transferring':
      return `clipsync ${status!.peers.connected} ⇅`;
    default:
      return `clipsync ${status!.peers.connected}`;
  }
}

/** The longer lines: peers, the clip, a pause, pairing requests waiting. */
export function describeLines(status: StatusResponse | null, now = Date.now()): string[] {
  if (status === null) return ['clipsync daemon not running (start it: clipsync daemon, or clipsync service install)'];
  const lines = [`${status.peers.connected} peer${status.peers.connected === 1 ? '' : 's'} connected of ${status.peers.known} known`];
  if (status.clip !== null) lines.push(`clip: ${status.clip.mime} (${formatBytes(status.clip.size)})${status.clip.local ? '' : ', not fetched yet'}`);
  if (status.transfers > 0) lines.push(`${status.transfers} transfer${status.transfers === 1 ? '' : 's'} in flight`);
  if (status.paused) lines.push(status.paused.until === null ? 'paused until clipsync resume' : `paused for ${timeLeft(status.paused.until, now)} more`);
  if (status.pairingPending > 0) lines.push(`${status.pairingPending} pairing request${status.pairingPending === 1 ? '' : 's'} to answer (clipsync pair --pending)`);
  return lines;
}

/** waybar's custom module, `return-type: json`: one JSON object per line. */
export function waybar(status: StatusResponse | null): string {
  const state = barState(status);
  return JSON.stringify({ text: shortText(status, state), tooltip: describeLines(status).join('\n'), class: state, alt: state });
}

const I3_COLORS: Record<BarState, string> = { idle: '#A3BE8C', transferring: '#88C0D0', paused: '#EBCB8B', 'no-peers': '#D8DEE9', error: '#BF616A' };

/** i3blocks: full_text, short_text and color lines for one run; a JSON object per line to follow (`format=json`). */
export function i3blocks(status: StatusResponse | null, json: boolean): string {
  const state = barState(status);
  const full = status === null ? 'clipsync off' : `${shortText(status, state)}: ${describeLines(status)[0]}`;
  if (json) return JSON.stringify({ full_text: full, short_text: shortText(status, state), color: I3_COLORS[state] });
  return `${full}\n${shortText(status, state)}\n${I3_COLORS[state]}`;
}

/** How the menu actions run clipsync again: this node, this CLI, the same --home. */
export interface Invocation {
  node: string;
  cli: string;
  home?: string | undefined;
}

/**
 * xbar / SwiftBar: the title line, `---`, then menu items. Actions re-run this clipsync
 * (pause, resume, put a clip from the history back) without a terminal, and refresh the menu.
 */
export function xbar(status: StatusResponse | null, history: readonly HistoryItem[], run: Invocation): string {
  const state = barState(status);
  const action = (...args: string[]): string => {
    const all = [run.cli, ...(run.home === undefined ? [] : ['--home', run.home]), ...args];
    return `shell="${run.node}" ${all.map((a, i) => `param${i + 1}="${a.replaceAll('"', '\\"')}"`).join(' ')} terminal=false refresh=true`;
  };
  const out = [shortText(status, state), '---'];
  for (const line of describeLines(status)) out.push(`${menuText(line)} | color=${state === 'error' ? 'red' : 'gray'}`);
  if (status !== null) {
    out.push('---');
    out.push(status.paused ? `Resume sync | ${action('resume')}` : `Pause sync | ${action('pause')}`);
    if (!status.paused) out.push(`Pause for 1 hour | ${action('pause', '--for', '1h')}`);
    if (history.length > 0) {
      out.push('---', 'Recent clips');
      for (const item of history.slice(0, 8)) out.push(`--${menuText(item.preview || `${item.mime} (${formatBytes(item.size)})`)} | ${action('history', 'get', String(item.n))}`);
    }
  }
  return out.join('\n');
}

/** Menu text may not hold `|` (it starts the parameters) nor newlines. */
function menuText(text: string): string {
  const flat = text.replace(/[|\r\n]+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

/** Time left until `iso`, for people: "1h 5m", "9m 12s", "40s". */
export function timeLeft(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}
