import { followDaemon } from './follow-daemon.js';
import type { IpcClient } from '../ipc/client.js';
import type { StatusResponse, WatchEvent } from '../ipc/schema.js';
import type { HistoryItem } from '../sync/clip-history.js';
import { describeLines, i3blocks, waybar, xbar, type BarFormat, type Invocation } from './status-formats.js';

export interface StatusBarOptions {
  client: IpcClient;
  format: BarFormat | undefined;
  json: boolean;
  run: Invocation;
  write: (text: string) => void;
}

/** `status --format F` once: the bar's text; the daemon not running is a state too (the caller exits 3). */
export async function statusOnce(options: StatusBarOptions, status: StatusResponse | null): Promise<void> {
  options.write(`${await render(options, status, false)}\n`);
}

/**
 * `status --watch [--format F]`: a line (or a bar update) each time the daemon's status
 * changes, from its event stream; pairing requests and notices too in the readable form and
 * with --json. While the daemon is not running it says so once, and tries again now and then.
 */
export async function statusWatch(options: StatusBarOptions): Promise<void> {
  let shownDown = false;
  let first = true;
  const raw = options.json && options.format === undefined;
  const show = async (status: StatusResponse | null): Promise<void> => {
    if (options.format === 'xbar' && !first) options.write('~~~\n'); // SwiftBar's streamable plugins: one update after another
    first = false;
    options.write(`${await render(options, status, true)}\n`);
  };
  await followDaemon(options.client, {
    line: async (line) => {
      shownDown = false;
      if (raw) options.write(`${JSON.stringify(line)}\n`);
      else if (line.event === 'status') await show(line.status);
      else if (options.format === undefined) options.write(`${stamp()}  ${line.event === 'pairing' ? pairingLine(line) : line.message}\n`);
    },
    down: async () => {
      if (shownDown) return;
      shownDown = true;
      if (raw) options.write(`${JSON.stringify({ event: 'status', status: { running: false } })}\n`);
      else await show(null);
    },
  });
}

async function render(options: StatusBarOptions, status: StatusResponse | null, following: boolean): Promise<string> {
  switch (options.format) {
    case 'waybar':
      return waybar(status);
    case 'i3blocks':
      return i3blocks(status, following);
    case 'xbar':
      return xbar(status, status === null ? [] : await recentClips(options.client), options.run);
    default:
      return `${stamp()}  ${describeLines(status).join('; ')}`;
  }
}

/** The history for xbar's menu; a daemon without one (older) just has no recent clips. */
async function recentClips(client: IpcClient): Promise<HistoryItem[]> {
  try {
    return await client.json<HistoryItem[]>({ method: 'GET', path: '/v1/history' });
  } catch {
    return [];
  }
}

function pairingLine(line: Extract<WatchEvent, { event: 'pairing' }>): string {
  const r = line.request;
  const code = r.code === null ? '' : ` code ${r.code}`;
  return `pairing ${r.direction === 'inbound' ? 'request from' : 'with'} ${r.name} (${r.fingerprint}): ${r.state}${code}`;
}

function stamp(): string {
  return new Date().toTimeString().slice(0, 8);
}
