import { resolve } from 'node:path';
import type { IpcRequest } from '../../ipc/client.js';
import type { CopyFilesResponse, FilesManifestView, PasteFilesResponse } from '../../ipc/schema.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { followProgress, reportCopy } from '../copy-outcome.js';
import { printJson, printLine, usageError } from '../output.js';
import { formatBytes } from '../progress-bar.js';

/** `clipsync copy --files PATH…`: files and folders as one clip, read by the daemon where they are. */
export async function copyFiles(args: GlobalArgs & { files: string[]; wait?: boolean | undefined; timeout?: number | undefined }): Promise<void> {
  if (args.files.length === 0) throw usageError('name the files or folders to copy after --files');
  const paths = args.files.map((p) => resolve(p));
  const query = { wait: args.wait === true ? '1' : undefined, timeout: args.timeout?.toString() };
  const request: IpcRequest = { method: 'POST', path: '/v1/copy/files', query, body: Buffer.from(JSON.stringify({ paths })) };
  const result = args.wait === true ? await followProgress<CopyFilesResponse>(args, { ...request, query: { ...query, progress: '1' } }, 'the copy finished') : await clientFrom(args).json<CopyFilesResponse>(request);
  for (const s of result.skipped) process.stderr.write(`skipped ${s.path}: ${s.why}\n`);
  reportCopy(result, args, `${result.files.count} ${result.files.count === 1 ? 'entry' : 'files and folders'} (${formatBytes(result.files.totalBytes)})`);
}

/** `clipsync paste --to DIR`: writes the files clip's files and folders into DIR, fetching them first if needed. */
export async function pasteTo(args: GlobalArgs & { to: string }): Promise<void> {
  const to = resolve(args.to);
  const request: IpcRequest = { method: 'POST', path: '/v1/paste/files', query: { to } };
  const result = process.stderr.isTTY ? await followProgress<PasteFilesResponse>(args, { ...request, query: { to, progress: '1' } }, 'the files were pasted') : await clientFrom(args).json<PasteFilesResponse>(request);
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
