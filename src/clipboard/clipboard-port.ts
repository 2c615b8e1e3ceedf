import { createReadStream } from 'node:fs';
import { whenComplete } from '../core/filling-files.js';
import { Readable } from 'node:stream';
import { formatOffsets, isLocal, type Clip } from '../sync/clip.js';
import { fileListFormats } from '../files/desktop-formats.js';
import type { ClipboardPort } from '../sync/ports.js';
import type { ClipboardBackend, ClipToWrite, Selection } from './backend.js';
import { Fingerprint } from './formats.js';
import type { ClipboardWatcher } from './watcher.js';

/** Fetches an announced clip's bytes from the peer that holds it (SyncEngine.fetch). */
export type FetchClip = (id: string) => Promise<Clip>;

/**
 * The clipboard as the sync engine uses it. A received clip is put on the desktop only after
 * every change the desktop reported has been read (a copy made here meanwhile is newer and
 * must not be overwritten), with all its formats at once, their bytes streamed from memory or
 * the spool; the watcher is told first, so reading it back is not taken for a new local copy.
 *
 * A clip only announced (its bytes still on the peer) goes on the desktop only where the
 * backend can serve it lazily (X11: its bytes are fetched when an app asks for them);
 * elsewhere the desktop keeps what it had until `clipsync paste` fetches the clip, which
 * then puts it on the desktop.
 */
export function clipboardPort(backend: ClipboardBackend, watcher: () => ClipboardWatcher | undefined, fetch: FetchClip, selection: Selection = 'clipboard'): ClipboardPort {
  // One write at a time: two received clips close together must reach the desktop in order,
  // or the older one could end up owning the selection.
  let writing: Promise<unknown> = Promise.resolve();
  const write = async (clip: Clip, stillCurrent: () => boolean): Promise<'written' | 'unsupported' | 'superseded'> => {
    await watcher()?.settled(false, selection);
    if (!stillCurrent()) return 'superseded';
    if (!isLocal(clip)) {
      if (!backend.servesLazily) return 'unsupported';
      return backend.write(lazyClipToWrite(clip, selection, fetch));
    }
    const toWrite = clipToWrite(clip, selection);
    // No watcher, nothing reads the clipboard back: no fingerprints to note.
    if (watcher() === undefined) return backend.write(toWrite);
    // The same streams the backend will read, from memory or the spool, one format at a time.
    const prints = await fingerprintsOf(toWrite);
    // Hashing a spooled clip takes a while: a copy made meanwhile is newer and stays.
    await watcher()?.settled(false, selection);
    if (!stillCurrent()) return 'superseded';
    watcher()?.noteFingerprints(selection, prints);
    return backend.write(toWrite);
  };
  return {
    write(clip, stillCurrent) {
      const run = writing.then(() => write(clip, stillCurrent));
      writing = run.catch(() => undefined);
      return run;
    },
  };
}

/** A clip as a backend takes it: each format opens a stream of just its bytes. */
export function clipToWrite(clip: Clip, selection: Selection): ClipToWrite {
  // A files clip is offered as the desktop offers files: local paths, where they are here.
  if (clip.tree !== undefined) return inMemoryClipToWrite(clip.id, selection, fileListFormats(clip.tree.roots));
  const offsets = formatOffsets(clip.formats);
  return {
    selection,
    id: clip.id,
    local: true,
    formats: clip.formats.map((format, i) => {
      const start = offsets[i]!;
      return {
        mime: format.mime,
        size: format.size,
        async open() {
          if (clip.data !== undefined) return Readable.from([clip.data.subarray(start, start + format.size)], { objectMode: false });
          if (format.size === 0) return Readable.from([], { objectMode: false });
          await whenComplete(clip.file!); // a copy still filling in (spool.ts)
          return createReadStream(clip.file!, { start, end: start + format.size - 1, highWaterMark: 1024 * 1024 });
        },
      };
    }),
  };
}

function inMemoryClipToWrite(id: string, selection: Selection, formats: { mime: string; data: Buffer }[]): ClipToWrite {
  return {
    selection,
    id,
    local: true,
    formats: formats.map((f) => ({ mime: f.mime, size: f.data.length, open: async () => Readable.from([f.data], { objectMode: false }) })),
  };
}

/**
 * An announced clip as a backend takes it: opening a format fetches the clip first (once). A
 * files clip offers its files' local paths, known from its manifest; a paste of them waits
 * until the files are here.
 */
function lazyClipToWrite(clip: Clip, selection: Selection, fetch: FetchClip): ClipToWrite {
  let fetched: Promise<ClipToWrite> | undefined;
  const local = (): Promise<ClipToWrite> => {
    if (fetched === undefined) {
      fetched = fetch(clip.id).then((whole) => clipToWrite(whole, selection));
      fetched.catch(() => (fetched = undefined)); // a failed fetch (peer away) is tried again by the next paste
    }
    return fetched;
  };
  return {
    selection,
    id: clip.id,
    local: false,
    // A files clip offers its local file list, whose bytes are known before its files are here.
    formats: (clip.files !== undefined ? fileListFormats(clip.files.roots).map((f) => ({ mime: f.mime, size: f.data.length })) : clip.formats).map((format, i) => ({
      mime: format.mime,
      size: format.size,
      open: async () => (await local()).formats[i]!.open(),
    })),
  };
}

/**
 * The watcher's fingerprints of a clip, read a piece at a time: a large spooled clip is never
 * held whole in memory, not even to recognise it later.
 */
async function fingerprintsOf(clip: ClipToWrite): Promise<string[]> {
  const prints: string[] = [];
  for (const format of clip.formats) {
    const print = new Fingerprint(format.mime);
    for await (const chunk of await format.open()) print.update(chunk as Buffer);
    prints.push(print.digest());
  }
  return prints;
}
