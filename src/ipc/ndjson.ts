import type { ServerResponse } from 'node:http';
import type { TransferInfo, TransferOutcome } from '../sync/transfer-board.js';
import type { TransferFeed } from './daemon-view.js';
import { isClipsyncError } from '../core/errors.js';
import type { ErrorBody, TransferEvent } from './schema.js';

/** Answers 200 with a newline-delimited JSON stream, headers sent at once. */
export function startNdjson(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
}

/** One line of the stream; nothing once the response has ended or the client has gone. */
export function writeLine(res: ServerResponse, value: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(value)}\n`);
}

/** Writes the board's progress and end events that `wanted` selects; returns the unsubscribe. */
export function followTransfers(board: TransferFeed, res: ServerResponse, wanted: (t: TransferInfo) => boolean): () => void {
  const onProgress = (transfer: TransferInfo): void => {
    if (wanted(transfer)) writeLine(res, { event: 'progress', transfer } satisfies TransferEvent);
  };
  const onEnd = (transfer: TransferInfo, outcome: TransferOutcome, detail: string | undefined): void => {
    if (wanted(transfer)) writeLine(res, { event: 'end', transfer, outcome, ...(detail === undefined ? {} : { detail }) } satisfies TransferEvent);
  };
  board.on('progress', onProgress);
  board.on('end', onEnd);
  return () => {
    board.off('progress', onProgress);
    board.off('end', onEnd);
  };
}

/**
 * A stream of the transfers `wanted` selects while `work` runs, ended by exactly one line:
 * `{event: 'result', result}` or `{event: 'error', error}` (`copy --wait` and `fetch`).
 */
export async function streamProgress<T>(board: TransferFeed, res: ServerResponse, wanted: (t: TransferInfo) => boolean, work: () => Promise<T>): Promise<void> {
  startNdjson(res);
  const stop = followTransfers(board, res, wanted);
  try {
    writeLine(res, { event: 'result', result: await work() });
  } catch (err) {
    writeLine(res, { event: 'error', error: errorBody(err) });
  } finally {
    stop();
    res.end();
  }
}

/** An error as a stream's last line: a ClipsyncError as it is, anything else without its internals. */
function errorBody(err: unknown): ErrorBody['error'] {
  return isClipsyncError(err) ? err.toJSON() : { code: 'CLIPSYNC_ERR_INTERNAL', message: 'internal error in the daemon; see its log' };
}
