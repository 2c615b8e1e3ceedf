import { resolve } from 'node:path';
import { ClipsyncError, fail, type ErrorCode } from '../../core/errors.js';
import type { IpcRequest } from '../../ipc/client.js';
import type { CopyFilesEvent, CopyFilesResponse, FilesManifestView, PasteFilesEvent, PasteFilesResponse } from '../../ipc/schema.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine, usageError } from '../output.js';
import { ProgressLine, formatBytes } from '../progress-bar.js';
import type { TransferInfo } from '../../sync/transfer-board.js';

/** `clipsync copy --files PATH…`: files and folders as one clip, read by the daemon where they are. */
export async function copyFiles(args: GlobalArgs & { files: string[]; wait?: boolean | undefined; timeout?: number | undefined }): Promise<void> {
  if (args.files.length === 0) throw usageError('name the files or folders to copy after --files');
  const paths = args.files.map((p) => resolve(p));
  const query = { wait: args.wait === true ? '1' : undefined, timeout: args.timeout?.toString() };
  const request: IpcRequest = { method: 'POST', path: '/v1/copy/files', query, body: Buffer.from(JSON.stringify({ paths })) };
  const result = args.wait === true ? await withProgress<CopyFilesEvent, CopyFilesResponse>(args, request) : await clientFrom(args).json<CopyFilesResponse>(request);
  for (const s of result.skipped) process.stderr.write(`skipped ${s.path}: ${s.why}\n`);
  const failed = result.peers.filter((p) => p.status === 'failed');
  if (args.json === true) printJson(result);
  else {
    const what = `${result.files.count} ${result.files.count === 1 ? 'entry' : 'files and folders'} (${formatBytes(result.files.totalBytes)})`;
    if (args.wait === true && result.peers.length > 0) {
      const skipped = result.peers.filter((p) => p.status === 'skipped');
      process.stderr.write(`copied ${what}; ${result.peers.length - failed.length - skipped.length} of ${result.peers.length} peers have it\n`);
      for (const p of skipped) process.stderr.write(`skipped ${p.name || p.fingerprint}: ${p.detail ?? 'by a rule'}\n`);
    } else if (process.stderr.isTTY) process.stderr.write(`copied ${what}\n`);
  }
  if (args.wait === true && result.peers.length === 0) {
    throw fail('CLIPSYNC_ERR_DELIVERY', 'nobody was reached: no peer was connected (the files are on the clipboard here)', {
      hint: '`clipsync peers` shows which peers are known and why they are not connected',
    });
  }
  if (failed.length > 0) throw fail('CLIPSYNC_ERR_DELIVERY', `not delivered to ${failed.map((p) => `${p.name || p.fingerprint} (${p.detail ?? 'failed'})`).join(', ')}`);
}

/** `clipsync paste --to DIR`: writes the files clip's files and folders into DIR, fetching them first if needed. */
export async function pasteTo(args: GlobalArgs & { to: string }): Promise<void> {
  const to = resolve(args.to);
  const request: IpcRequest = { method: 'POST', path: '/v1/paste/files', query: { to } };
  const result = process.stderr.isTTY ? await withProgress<PasteFilesEvent, PasteFilesResponse>(args, request) : await clientFrom(args).json<PasteFilesResponse>(request);
  if (args.json === true) printJson(result);
  else for (const path of result.written) printLine(path);
}

/** `paste --list` of a files clip: every entry, then the totals. */
export function printManifest(files: FilesManifestView, local: boolean): void {
  for (const e of files.entries) {
    if ('dir' in e) printLine(`${e.path}/`);
    else printLine(`${e.path}\t${formatBytes(e.size)}${e.exec ? '\texecutable' : ''}`);
  }
  const folders = files.entries.filter((e) => 'dir' in e).length;
  const summary = `${files.count - folders} files, ${folders} folders, ${formatBytes(files.totalBytes)}${files.cut ? ' (cut on the sending side; pasted as a copy)' : ''}`;
  process.stderr.write(`${summary}${local ? '' : '; not fetched yet: paste --to DIR fetches them'}\n`);
}

/** A request answered with progress lines, then one result: draws the bar on a terminal. */
async function withProgress<E extends { event: string }, R>(args: GlobalArgs, request: IpcRequest): Promise<R> {
  const bar = new ProgressLine();
  try {
    for await (const line of clientFrom(args).lines<E>({ ...request, query: { ...request.query, progress: '1' } })) {
      const l = line as unknown as { event: string; transfer?: TransferInfo; result?: R; error?: { code: string; message: string; hint?: string } };
      if (l.event === 'progress') bar.update(l.transfer!);
      else if (l.event === 'end') bar.finish(l.transfer!);
      else if (l.event === 'result') return l.result!;
      else throw new ClipsyncError(l.error!.code as ErrorCode, l.error!.message, l.error!.hint === undefined ? {} : { hint: l.error!.hint });
    }
  } finally {
    bar.clear();
  }
  throw fail('CLIPSYNC_ERR_IPC', 'the daemon closed the connection before it answered; see its log');
}
