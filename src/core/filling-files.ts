/**
 * Files that are still being written while they are already a clip's body: `clipsync copy FILE`
 * offers the clip as soon as the file is hashed, and the spool's copy of it fills in while the
 * first peer is already receiving it. Readers ask here first. A transfer reads on from the
 * file the copy is made from (its receiver checks every leaf against the clip's hashes, so a
 * file changed meanwhile cannot pass for the clip); a paste waits for the copy to be complete.
 */
export interface FillingFile {
  /** The file the copy is made from. */
  readonly source: string;
  /** Why the copy failed, once it has (the file changed after it was hashed, the disk is full). */
  readonly failure: Error | undefined;
  /** Resolves when the file is complete under its final name; rejects with why it never will be. */
  readonly complete: Promise<void>;
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

/** The fill of `path` under way, if any. */
export function fillingFile(path: string): FillingFile | undefined {
  return filling.get(path);
}

/** Resolves once `path` is complete (at once when nothing is filling it); rejects if its fill failed. */
export async function whenComplete(path: string): Promise<void> {
  await filling.get(path)?.complete;
}
