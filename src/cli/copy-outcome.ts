import { ClipsyncError, fail, type ErrorCode } from '../core/errors.js';
import type { IpcRequest } from '../ipc/client.js';
import type { CopyResponse, ErrorBody, TransferEvent } from '../ipc/schema.js';
import { clientFrom, type GlobalArgs } from './context.js';
import { printJson } from './output.js';
import { ProgressLine } from './progress-bar.js';

/**
 * A request answered with a stream of progress lines and then one result (or error) line:
 * `copy --wait`, a fetch, `paste --to`. Draws the bar on a terminal; resolves with the result.
 */
export async function followProgress<R>(args: GlobalArgs, request: IpcRequest, what: string): Promise<R> {
  const bar = new ProgressLine();
  try {
    for await (const line of clientFrom(args).lines<TransferEvent | { event: 'result'; result: R } | { event: 'error'; error: ErrorBody['error'] }>(request)) {
      if (line.event === 'progress') bar.update(line.transfer);
      else if (line.event === 'end') bar.finish(line.transfer);
      else if (line.event === 'result') return line.result;
      else throw new ClipsyncError(line.error.code as ErrorCode, line.error.message, line.error.hint === undefined ? {} : { hint: line.error.hint });
    }
  } finally {
    bar.clear();
  }
  throw fail('CLIPSYNC_ERR_IPC', `the daemon closed the connection before ${what}; see its log`);
}

/**
 * What a copy prints and how it exits: the result as JSON, or with --wait how many peers have
 * it (`copied` says what was copied) and who skipped it by choice; exit 1 when nobody was
 * reached with --wait, or when some peer did not take it.
 */
export function reportCopy(result: CopyResponse, args: GlobalArgs & { wait?: boolean | undefined }, copied: string): void {
  const failed = result.peers.filter((p) => p.status === 'failed');
  if (args.json === true) printJson(result);
  else if (args.wait === true) {
    const skipped = result.peers.filter((p) => p.status === 'skipped');
    const delivered = result.peers.length - failed.length - skipped.length;
    if (result.peers.length > 0) process.stderr.write(`copied ${copied}; ${delivered} of ${result.peers.length} peers have it\n`);
    // Not sent by choice (a pause, a peer rule): said, but no failure.
    for (const p of skipped) process.stderr.write(`skipped ${p.name || p.fingerprint}: ${p.detail ?? 'by a rule'}\n`);
  }
  if (args.wait === true && result.peers.length === 0) {
    throw fail('CLIPSYNC_ERR_DELIVERY', 'nobody was reached: no peer was connected (the clip is set here)', {
      hint: '`clipsync peers` shows which peers are known and why they are not connected',
    });
  }
  if (failed.length > 0) {
    const names = failed.map((p) => `${p.name || p.fingerprint} (${p.detail ?? 'failed'})`).join(', ');
    throw fail('CLIPSYNC_ERR_DELIVERY', `not delivered to ${names}`);
  }
}
