/**
 * Files that are already a clip's body but not yet in place: `clipsync copy FILE` offers the
 * clip as soon as the file is hashed, and the spool's copy of it is made afterwards. Readers
 * ask here first. A transfer reads the file the copy is made from, through the handle the
 * daemon holds on it (so renaming or removing the file meanwhile changes nothing, and a file
 * changed in place cannot pass for the clip: its receiver checks every leaf against the
 * clip's hashes); a paste waits for the copy to be complete.
 */
export interface FillingFile {
  /** Why the copy failed, once it has (the file changed after it was hashed, the disk is full). */
  readonly failure: Error | undefined;
  /** Resolves when the file is complete under its final name; rejects with why it never will be. */
  readonly complete: Promise<void>;
  /** Reads the clip's bytes from wherever they are now (the held file, then the finished copy). */
  openReader(): FileReader;
}

/** Positional reads, as a FileHandle has them. */
export interface FileReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

const filling = new Map<string, FillingFile>();

/**
 * Registers `path` as filling until `file.complete` resolves. A fill that failed stays
 * registered, so readers of that clip hear why its file never came (rather than "no such
 * file"), until a new fill of the same path replaces it.
 */
export function registerFilling(path: string, file: FillingFile): void {
  filling.set(path, file);
  file.complete.then(
    () => {
      if (filling.get(path) === file) filling.delete(path);
    },
    () => undefined,
  );
}

/** Forgets `file` as the fill of `path` (one let go before it was ever a clip's body). */
export function unregisterFilling(path: string, file: FillingFile): void {
  if (filling.get(path) === file) filling.delete(path);
}

/** The fill of `path` under way, if any. */
export function fillingFile(path: string): FillingFile | undefined {
  return filling.get(path);
}

/** Resolves once `path` is complete (at once when nothing is filling it); rejects if its fill failed. */
export async function whenComplete(path: string): Promise<void> {
  await filling.get(path)?.complete;
}
