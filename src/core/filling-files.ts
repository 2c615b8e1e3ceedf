/**
 * Files that are already a clip's body but not yet in place: `clipsync copy FILE` offers the
 * clip as soon as the file is hashed, and the spool's copy of it is made afterwards. Readers
 * ask here first. A transfer reads the file the copy is made from, through the handle the
 * daemon holds on it (so renaming or removing the file meanwhile changes nothing, and a file
 * changed in place cannot pass for the clip: its receiver checks every leaf against the
 * clip's hashes); a paste here (or the desktop clipboard reading the clip) demands the copy
 * and waits for it.
 */
export interface FillingFile {
  /** Why the copy failed, once it has (the file changed after it was hashed, the disk is full). */
  readonly failure: Error | undefined;
  /**
   * Makes the copy now if nobody has started it yet (someone here needs the bytes), and
   * resolves when the file is complete under its final name; rejects with why it never will be.
   */
  demand(): Promise<void>;
  /** Reads the clip's bytes from wherever they are now (the held file, then the finished copy). */
  openReader(): FileReader;
  /**
   * The path is complete by other means: a copy not yet started is not needed (its held file
   * is let go, and it counts as done); one under way finishes on its own.
   */
  supersede(): void;
}

/** Positional reads, as a FileHandle has them. */
export interface FileReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/**
 * Every fill of a path, oldest first. The same bytes copied twice in quick succession make
 * two fills of one path, each from its own open file: either one completing completes the
 * path, and one cancelled or failed leaves the other standing.
 */
const filling = new Map<string, FillingFile[]>();

/**
 * Registers `file` as filling `path`. It stays registered until it completes or is let go
 * (`unregisterFilling`); one that failed stays, so readers of that clip hear why its file
 * never came (rather than "no such file"), until the path is complete after all.
 */
export function registerFilling(path: string, file: FillingFile): void {
  filling.set(path, [...(filling.get(path) ?? []), file]);
}

/** Forgets `file` as a fill of `path` (it completed, or was let go before it was ever a clip's body). */
export function unregisterFilling(path: string, file: FillingFile): void {
  keepOnly(path, (f) => f !== file);
}

/**
 * `path` is complete (a fill finished, or the same bytes were received, stored from stdin or
 * found already there): no fill speaks for it any more. Readers go to the complete file, not
 * to a held original that may since have been changed in place; a fill that fails later
 * fails only for itself; one not yet started is not made at all.
 */
export function pathCompleted(path: string): void {
  const fills = filling.get(path) ?? [];
  filling.delete(path);
  for (const fill of fills) fill.supersede();
}

/** Whether `file` still speaks for `path` (it was not let go, and the path was not completed otherwise). */
export function isFilling(path: string, file: FillingFile): boolean {
  return filling.get(path)?.includes(file) === true;
}

function keepOnly(path: string, keep: (file: FillingFile) => boolean): void {
  const left = (filling.get(path) ?? []).filter(keep);
  if (left.length > 0) filling.set(path, left);
  else filling.delete(path);
}

/**
 * The fill of `path` to read from: the oldest one still good, else (all failed) the newest
 * failure, so a reader hears why; undefined when nothing is filling it.
 */
export function fillingFile(path: string): FillingFile | undefined {
  const fills = filling.get(path);
  if (fills === undefined) return undefined;
  return fills.find((f) => f.failure === undefined) ?? fills[fills.length - 1];
}

/** Resolves once `path` is complete (at once when nothing is filling it); rejects if its fill failed. */
export async function whenComplete(path: string): Promise<void> {
  await fillingFile(path)?.demand();
}
