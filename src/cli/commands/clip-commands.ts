import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { ClipsyncError, fail, fileErrorReason } from '../../core/errors.js';
import type { IpcRequest } from '../../ipc/client.js';
import type { CopyResponse, PasteListResponse } from '../../ipc/schema.js';
import { formatBytes } from '../progress-bar.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { followProgress, reportCopy } from '../copy-outcome.js';
import { printJson, printLine, usageError } from '../output.js';

/** `clipsync copy` and `clipsync paste`: the clipboard itself. */
export function clipCommands(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli
    .command(
      'copy [file]',
      'Set the clipboard here and on every connected peer, from FILE or standard input (or files and folders with --files)',
      (y) =>
        y
          .positional('file', { type: 'string', describe: 'File to copy (default: standard input)' })
          .option('files', { type: 'string', array: true, describe: 'Copy these files and folders as files, to paste in a file manager or with paste --to' })
          .option('mime', { type: 'string', describe: 'Media type (default: text/plain for UTF-8 text, else application/octet-stream)' })
          .option('wait', { type: 'boolean', default: false, describe: 'Return only once every connected peer has the clip' })
          .option('timeout', { type: 'number', describe: 'With --wait: give up on peers silent for this many seconds' }),
      (args) => copy(args),
    )
    .command(
      'paste',
      'Write the current clip to standard output, byte for byte (its text when it has text)',
      (y) =>
        y
          .option('mime', { type: 'string', describe: 'Paste this format of the clip (see --list); fails when it has none' })
          .option('list', { type: 'boolean', default: false, describe: 'List the formats of the current clip with their sizes' })
          .option('osc52', { type: 'boolean', default: false, describe: "Send the clip's text to this terminal's clipboard as an OSC 52 sequence (for a shell on a remote box)" })
          .option('to', { type: 'string', describe: 'Write the copied files and folders into this folder (a files clip)' }),
      (args) => paste(args),
    );
}

/** The options of `clipsync copy`. */
export interface CopyArgs extends GlobalArgs {
  file?: string | undefined;
  files?: string[] | undefined;
  mime?: string | undefined;
  wait?: boolean | undefined;
  timeout?: number | undefined;
}

/** `clipsync copy`: also run without yargs by the fast path (fast-path.ts), editors call it on every yank. */
export async function copy(args: CopyArgs): Promise<void> {
  // yargs reads `--timeout abc` as NaN and `--timeout -5` as -5: neither is a time to wait.
  if (args.timeout !== undefined && !(Number.isFinite(args.timeout) && args.timeout >= 0)) {
    throw usageError(`--timeout must be a number of seconds, 0 or more (fractions allowed); got ${String(args.timeout)}`);
  }
  if (args.files !== undefined) {
    if (args.file !== undefined || args.mime !== undefined) throw usageError('--files takes every path to copy; it goes with neither FILE nor --mime');
    const { copyFiles } = await import('./files-commands.js');
    return copyFiles({ ...args, files: args.files.map(String) });
  }
  const query = { mime: args.mime, wait: args.wait === true ? '1' : undefined, timeout: args.timeout?.toString() };
  const path = await fileToCopy(args.file);
  // A file is read by the daemon itself, by its path: no copy of its bytes through the socket.
  // A daemon from before that route answers NO_ROUTE, and gets the bytes as before.
  let result: CopyResponse | undefined;
  if (path !== undefined) result = await send(args, { method: 'POST', path: '/v1/copy/file', query: { ...query, path } }).catch(unlessNoRoute);
  result ??= await send(args, { method: 'POST', path: '/v1/copy', query, body: path === undefined ? await stdinInput() : createReadStream(path, { highWaterMark: 1024 * 1024 }) });
  reportCopy(result, args, `${result.size} bytes`);
}

function send(args: CopyArgs, request: IpcRequest): Promise<CopyResponse> {
  return args.wait === true ? followProgress<CopyResponse>(args, { ...request, query: { ...request.query, progress: '1' } }, 'the copy finished') : clientFrom(args).json<CopyResponse>(request);
}

function unlessNoRoute(err: unknown): undefined {
  if (err instanceof ClipsyncError && err.code === 'CLIPSYNC_ERR_NO_ROUTE') return undefined;
  throw err;
}

/** The options of `clipsync paste`. */
export interface PasteArgs extends GlobalArgs {
  to?: string | undefined;
  mime?: string | undefined;
  list?: boolean | undefined;
  osc52?: boolean | undefined;
}

/** `clipsync paste`: also run without yargs by the fast path (fast-path.ts), editors call it on every paste. */
export async function paste(args: PasteArgs): Promise<void> {
  if (args.to !== undefined) {
    if (args.list === true || args.mime !== undefined || args.osc52 === true) throw usageError('--to writes out a files clip; it goes with none of --list, --mime, --osc52');
    const { pasteTo } = await import('./files-commands.js');
    return pasteTo({ ...args, to: args.to });
  }
  if (args.osc52 === true) {
    const { pasteOsc52 } = await import('../osc52.js');
    await pasteOsc52(clientFrom(args), args.mime);
    return;
  }
  if (args.list === true) {
    const list = await clientFrom(args).json<PasteListResponse>({ method: 'GET', path: '/v1/paste', query: { list: '1' } });
    if (args.json === true) printJson(list);
    else if (list.files !== undefined) {
      const { printManifest } = await import('./files-commands.js');
      printManifest(list.files, list.local);
      return;
    } else for (const f of list.formats) printLine(`${f.mime}\t${formatBytes(f.size)}${f.mime === list.mime ? '\t(default)' : ''}`);
    if (args.json !== true && !list.local) process.stderr.write('not fetched yet: its bytes are still on the peer; paste fetches them\n');
    return;
  }
  // A large clip may be only announced here: on a terminal, fetch it first with a
  // progress bar. Elsewhere the paste itself fetches it, silently.
  if (process.stderr.isTTY) {
    const list = await clientFrom(args).json<PasteListResponse>({ method: 'GET', path: '/v1/paste', query: { list: '1' } });
    if (list.local === false) await followProgress(args, { method: 'POST', path: '/v1/fetch', query: { id: list.id } }, 'the clip was fetched');
  }
  const res = await clientFrom(args).open({ method: 'GET', path: '/v1/paste', query: { mime: args.mime } });
  await new Promise<void>((resolve, reject) => {
    res.on('error', reject);
    process.stdout.on('error', reject);
    res.pipe(process.stdout, { end: false });
    res.on('end', () => resolve());
  });
}

/** The absolute path of FILE, checked here so a bad one fails at once; undefined for standard input. */
async function fileToCopy(file: string | undefined): Promise<string | undefined> {
  if (file === undefined || file === '-') return undefined;
  const path = resolve(file);
  try {
    const info = await stat(path);
    if (!info.isFile()) throw fail('CLIPSYNC_ERR_USAGE', `${file} is not a regular file`, { hint: 'copy a file, or pipe other data into `clipsync copy`' });
    await access(path, constants.R_OK);
  } catch (err) {
    if (err instanceof ClipsyncError) throw err;
    // The errno code too, as before this message had words: scripts may look for it.
    const code = (err as NodeJS.ErrnoException).code;
    const why = fileErrorReason(err);
    throw fail('CLIPSYNC_ERR_FILE_UNREADABLE', `cannot read ${path} (${code === undefined || code === why ? why : `${code}: ${why}`})`, { hint: 'check the path and that you can read the file' });
  }
  return path;
}

async function stdinInput(): Promise<NodeJS.ReadableStream & import('node:stream').Readable> {
  if (process.stdin.isTTY) throw usageError('give a FILE to copy, or pipe data into `clipsync copy`');
  return process.stdin;
}
