import { statSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** Events of one edit (an editor's truncate and write, a rename into place) are looked at together. */
const SETTLE_MS = 100;
/**
 * Also looked at this often whatever the events say: some file systems (NFS, some FUSE and
 * container mounts) accept a watch but never report a change made elsewhere.
 */
const SAFETY_POLL_MS = 60_000;
/** Where a directory cannot be watched (it does not exist yet, no inotify watches left): polled, as before. */
const FALLBACK_POLL_MS = 1000;

export interface TrustFileWatchOptions {
  settleMs?: number;
  safetyPollMs?: number;
  fallbackPollMs?: number;
}

/**
 * Calls `onChange` when any of `files` changes (its inode, size or mtime, or it appears or
 * goes away), within about SETTLE_MS. Event-driven: each file's directory is watched (a
 * watch on the file itself would lose it when an editor or `clipsync trust` renames a new
 * version into place), so an idle daemon is never woken to look at files nobody touched,
 * except by one safety poll a minute. Returns a function that stops watching.
 */
export function watchTrustFiles(files: readonly string[], onChange: () => void, options: TrustFileWatchOptions = {}): () => void {
  const settleMs = options.settleMs ?? SETTLE_MS;
  const signatures = new Map<string, string>();
  let stopped = false;
  let settling: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();

  // Checks run one after another, so two never race to report the same change.
  const check = (): void => {
    checking = checking.then(async () => {
      if (stopped) return;
      let changed = false;
      for (const file of files) {
        const now = await signatureOf(file);
        if (signatures.get(file) !== now) changed = true;
        signatures.set(file, now);
      }
      if (changed && !stopped) onChange();
    }).catch(() => undefined); // a failing listener must not end the watch
  };
  const soon = (): void => {
    if (settling !== undefined || stopped) return;
    settling = setTimeout(() => {
      settling = undefined;
      check();
    }, settleMs);
    settling.unref();
  };

  const watchers: FSWatcher[] = [];
  const polled: string[] = [];
  const onPoll = (): void => soon();
  const poll = (inDir: Map<string, string>): void => {
    for (const file of inDir.values()) {
      watchFile(file, { interval: options.fallbackPollMs ?? FALLBACK_POLL_MS, persistent: false }, onPoll);
      polled.push(file);
    }
  };
  for (const [dir, inDir] of byDirectory(files)) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Without a name (some platforms), any entry of the directory may be ours.
        if (name === null || inDir.has(name.toString())) soon();
      });
      // The watch broke (its directory was removed, say): its files are polled from now on.
      watcher.on('error', () => {
        watcher.close();
        if (!stopped) poll(inDir);
        soon();
      });
      watchers.push(watcher);
    } catch {
      poll(inDir);
    }
  }
  // The state the watch starts from, read once the watches are set and before this returns:
  // a change made after that is always reported, and what is on disk now is not a change.
  for (const file of files) signatures.set(file, signatureNow(file));
  const safety = setInterval(check, options.safetyPollMs ?? SAFETY_POLL_MS);
  safety.unref();

  return () => {
    stopped = true;
    if (settling !== undefined) clearTimeout(settling);
    clearInterval(safety);
    for (const watcher of watchers) watcher.close();
    for (const file of polled) unwatchFile(file, onPoll);
  };
}

/** What identifies a version of a file: a rename into place changes the inode, an edit size or mtime. */
async function signatureOf(file: string): Promise<string> {
  return stat(file).then(signature, missing);
}

function signatureNow(file: string): string {
  try {
    return signature(statSync(file));
  } catch (err) {
    return missing(err);
  }
}

const signature = (info: Stats): string => `${info.ino}:${info.size}:${info.mtimeMs}`;
const missing = (err: unknown): string => `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;

/** directory → (entry name → the file's path as given) */
function byDirectory(files: readonly string[]): Map<string, Map<string, string>> {
  const dirs = new Map<string, Map<string, string>>();
  for (const file of files) {
    const inDir = dirs.get(dirname(file)) ?? new Map<string, string>();
    inDir.set(basename(file), file);
    dirs.set(dirname(file), inDir);
  }
  return dirs;
}
