import { ClipsyncError, ExitCode, isClipsyncError, messageOf } from '../core/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Prints an error as one sentence (plus a hint line) and sets the matching exit code. */
export function reportError(err: unknown): number {
  if (isClipsyncError(err)) {
    process.stderr.write(`clipsync: ${err.message}\n`);
    if (err.hint !== undefined) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  process.stderr.write(`clipsync: ${messageOf(err)}\n`);
  if (process.env['CLIPSYNC_DEBUG'] === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return ExitCode.error;
}

/** Left-aligned columns for human-readable lists. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * What a list command prints: the items as JSON with --json (an empty list is `[]`), else a
 * table, or the `empty` sentence when there is nothing to list.
 */
export function printList<T>(
  items: T[],
  options: { json: boolean | undefined; empty: string; headers: string[]; row: (item: T) => string[]; asJson?: (item: T) => unknown },
): void {
  if (options.json === true) printJson(options.asJson === undefined ? items : items.map(options.asJson));
  else if (items.length === 0) printLine(options.empty);
  else printLine(table(options.headers, items.map(options.row)));
}

export function usageError(message: string): ClipsyncError {
  return new ClipsyncError('CLIPSYNC_ERR_USAGE', message, { hint: 'see `clipsync --help`' });
}
