import type { ServerResponse } from 'node:http';
import type { TransferInfo, TransferOutcome } from '../sync/transfer-board.js';
import type { TransferFeed } from './daemon-view.js';
import type { TransferEvent } from './schema.js';

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
