import { isClipsyncError } from '../../core/errors.js';
import { BAR_FORMATS, timeLeft, type BarFormat } from '../status-formats.js';
import type { Argv } from 'yargs';
import type { PeersResponse, StatusResponse, TransferEvent } from '../../ipc/schema.js';
import type { TransferInfo } from '../../sync/transfer-board.js';
import { formatBytes, formatDuration } from '../progress-bar.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine, printList, usageError } from '../output.js';

/** The options of `clipsync status`. */
export interface StatusArgs extends GlobalArgs {
  watch?: boolean | undefined;
  format?: string | undefined;
}

/** `clipsync status`: also run without yargs by the fast path (fast-path.ts), as status bars poll it. */
export async function status(args: StatusArgs): Promise<void> {
  if (args.format !== undefined && !(BAR_FORMATS as readonly string[]).includes(args.format)) {
    throw usageError(`--format must be one of ${BAR_FORMATS.join(', ')}, not "${args.format}"`);
  }
  const bar = {
    client: clientFrom(args),
    format: args.format as BarFormat | undefined,
    json: args.json === true,
    run: { node: process.execPath, cli: process.argv[1] ?? 'clipsync', home: args.home },
    write: (text: string) => void process.stdout.write(text),
  };
  if (args.watch === true) {
    await (await import('../status-watch.js')).statusWatch(bar);
    return;
  }
  let status: StatusResponse;
  try {
    status = await clientFrom(args).json<StatusResponse>({ method: 'GET', path: '/v1/status' });
  } catch (err) {
    // Scripts and status bars read stdout: say "not running" there too (the exit code stays 3).
    if (isClipsyncError(err) && err.code === 'CLIPSYNC_ERR_NOT_RUNNING') {
      if (bar.format !== undefined) await (await import('../status-watch.js')).statusOnce(bar, null);
      else if (args.json === true) printJson({ running: false });
    }
    throw err;
  }
  if (bar.format !== undefined) {
    await (await import('../status-watch.js')).statusOnce(bar, status);
    return;
  }
  if (args.json === true) {
    printJson(status);
    return;
  }
  printLine(`clipsync daemon running (pid ${status.pid}, version ${status.version})`);
  printLine(`name:        ${status.name}`);
  printLine(`fingerprint: ${status.fingerprint}`);
  printLine(`listening:   ${status.listen.length > 0 ? status.listen.join(', ') : 'nowhere (dial-out only)'}`);
  printLine(`clipboard:   ${status.clipboardBackend}: ${status.clipboardReason}`);
  if (status.sensitiveSkipped > 0) printLine(`             ${status.sensitiveSkipped} cop${status.sensitiveSkipped === 1 ? 'y' : 'ies'} marked secret by a password manager skipped`);
  printLine(`mdns:        ${status.mdns === 'disabled' ? 'disabled (no multicast; static peers only, retrying)' : status.mdns}`);
  printLine(`peers:       ${status.peers.connected} connected, ${status.peers.known} known`);
  printLine(`clip:        ${status.clip === null ? 'none yet' : `${status.clip.formats.map((f) => `${f.mime} (${formatBytes(f.size)})`).join(', ')}`}`);
  // Only while paused (a daemon from before pauses has no `paused`): nothing is sent or applied.
  if (status.paused) printLine(`paused:      ${describePaused(status.paused)}`);
}

/** "until 14:05:10 (in 9m 12s)", "until `clipsync resume`". */
function describePaused(paused: NonNullable<StatusResponse['paused']>): string {
  const since = `since ${new Date(paused.since).toLocaleTimeString()}`;
  if (paused.until === null) return `${since}, until \`clipsync resume\``;
  return `${since}, until ${new Date(paused.until).toLocaleTimeString()} (in ${timeLeft(paused.until)}); nothing is sent or applied`;
}

/** `clipsync status` and `clipsync peers`: what the running daemon sees. */
export function statusCommands(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli
    .command(
      'status',
      'Show whether the daemon runs, its identity, addresses and peer counts',
      (y) =>
        y
          .option('watch', { type: 'boolean', default: false, describe: 'Keep printing a line each time the status changes (--json: the event stream as it comes)' })
          .option('format', { type: 'string', choices: BAR_FORMATS, describe: 'Output for a status bar: waybar (JSON), i3blocks, xbar (also SwiftBar)' }),
      (args) => status(args),
    )
    .command(
      'peers',
      'List known peers and their connection state',
      (y) => y,
      (args) => peers(args),
    )
    .command(
      'transfers',
      'List clip transfers in flight, with progress (--watch: follow them live)',
      (y) => y.option('watch', { type: 'boolean', default: false, describe: 'Keep printing progress events as they happen' }),
      (args) => transfers(args),
    );
}

/** `clipsync peers`: also run without yargs by the fast path. */
export async function peers(args: GlobalArgs): Promise<void> {
  const list = await clientFrom(args).json<PeersResponse>({ method: 'GET', path: '/v1/peers' });
  printList(list, {
    json: args.json,
    empty: 'no peers yet: start the daemon with --peer ADDR, or dial this one from another machine',
    headers: ['NAME', 'STATE', 'ADDRESS', 'FINGERPRINT', 'RTT', 'RULES', 'NOTE'],
    row: (p) => [
      p.name ?? '-',
      p.state,
      p.address ?? '-',
      p.fingerprint ?? '-',
      p.rttMs === null ? '-' : `${p.rttMs} ms`,
      describeRules(p.rules),
      [p.lastError ?? '', ...p.transfers.map(describeTransfer)].filter((s) => s !== '').join('; '),
    ],
  });
}

/** `clipsync transfers [--watch]`: also run without yargs by the fast path. */
export async function transfers(args: GlobalArgs & { watch?: boolean }): Promise<void> {
  const client = clientFrom(args);
  if (args.watch) {
    // One JSON object per line with --json (for status bars); a line per event otherwise.
    for await (const line of client.lines<TransferEvent>({ method: 'GET', path: '/v1/events' })) {
      if (args.json) process.stdout.write(`${JSON.stringify(line)}\n`);
      else printLine(line.event === 'end' ? `${describeTransfer(line.transfer)}: ${line.outcome}${line.detail ? ` (${line.detail})` : ''}` : describeTransfer(line.transfer));
    }
    return;
  }
  const transfers = await client.json<TransferInfo[]>({ method: 'GET', path: '/v1/transfers' });
  printList(transfers, {
    json: args.json,
    empty: 'no transfers in flight',
    headers: ['DIRECTION', 'PEER', 'CLIP', 'DONE', 'RATE', 'ETA'],
    row: (t) => [
      t.direction === 'send' ? 'send →' : 'receive ←',
      t.name || t.peer,
      `${t.id.slice(0, 12)} ${t.mime}`,
      `${percent(t)} of ${formatBytes(t.total)}${filesDone(t)}`,
      `${formatBytes(t.rate)}/s`,
      formatDuration(t.etaMs),
    ],
  });
}

/** "-" when no rule applies, else e.g. "no send; text/*; ≤ 1.0 MiB" (a daemon from before rules sends none). */
function describeRules(rules: PeersResponse[number]['rules'] | undefined): string {
  if (rules === undefined || rules.matched === null) return '-';
  const parts = [rules.send ? '' : 'no send', rules.receive ? '' : 'no receive', rules.formats === null ? '' : rules.formats.join(','), rules.maxBytes === null ? '' : `≤ ${formatBytes(rules.maxBytes)}`];
  return parts.filter((p) => p !== '').join('; ') || 'all allowed';
}

function percent(t: TransferInfo): string {
  return `${t.total === 0 ? 100 : Math.floor((t.bytes / t.total) * 100)}%`;
}

/** "sending 45% of 256 MiB at 310 MiB/s" — for the peers table and `transfers --watch`. */
function describeTransfer(t: TransferInfo): string {
  const verb = t.direction === 'send' ? 'sending' : 'receiving';
  return `${verb} ${t.id.slice(0, 12)} ${percent(t)} of ${formatBytes(t.total)}${filesDone(t)} at ${formatBytes(t.rate)}/s (${t.name || t.peer})`;
}

/** ", 12/40 files" for a files clip. */
function filesDone(t: TransferInfo): string {
  return t.files === undefined ? '' : `, ${t.files.done}/${t.files.total} files`;
}
