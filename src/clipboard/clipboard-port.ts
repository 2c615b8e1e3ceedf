import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { formatOffsets, type Clip } from '../sync/clip.js';
import type { ClipboardPort } from '../sync/ports.js';
import type { ClipboardBackend, ClipToWrite, Selection } from './backend.js';
import { copyFingerprints } from './formats.js';
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
  return {
    async write(clip, stillCurrent) {
      await watcher()?.settled();
      if (!stillCurrent()) return 'superseded';
      if (clip.data === undefined && clip.file === undefined) {
        if (!backend.servesLazily) return 'unsupported';
        return backend.write(lazyClipToWrite(clip, selection, fetch));
      }
      const toWrite = clipToWrite(clip, selection);
      if (clip.data !== undefined) {
        const offsets = formatOffsets(clip.formats);
        watcher()?.noteWritten(selection, clip.formats.map((f, i) => ({ mime: f.mime, data: clip.data!.subarray(offsets[i], offsets[i]! + f.size) })));
      } else if (watcher() !== undefined) {
        watcher()!.noteFingerprints(selection, await fingerprintsOf(toWrite));
      }
      return backend.write(toWrite);
    },
  };
}

/** A clip as a backend takes it: each format opens a stream of just its bytes. */
export function clipToWrite(clip: Clip, selection: Selection): ClipToWrite {
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
          return createReadStream(clip.file!, { start, end: start + format.size - 1, highWaterMark: 1024 * 1024 });
        },
      };
    }),
  };
}

/** An announced clip as a backend takes it: opening a format fetches the clip first (once). */
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
    formats: clip.formats.map((format, i) => ({
      mime: format.mime,
      size: format.size,
      open: async () => (await local()).formats[i]!.open(),
    })),
  };
}

/** Text this small is read whole, so its fingerprint can ignore line ends; larger formats are hashed as they stream. */
const WHOLE_TEXT_BYTES = 16 * 1024 * 1024;

/**
 * The watcher's fingerprints of a spooled clip, read back from the spool a piece at a time:
 * a large clip is never held whole in memory, not even to recognise it later.
 */
async function fingerprintsOf(clip: ClipToWrite): Promise<string[]> {
  const prints: string[] = [];
  for (const format of clip.formats) {
    const source = await format.open();
    if (format.mime.startsWith('text/') && format.size <= WHOLE_TEXT_BYTES) {
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(chunk as Buffer);
      prints.push(...copyFingerprints([{ mime: format.mime, data: Buffer.concat(chunks) }]));
    } else {
      const hash = createHash('sha256');
      for await (const chunk of source) hash.update(chunk as Buffer);
      prints.push(hash.digest('base64'));
    }
  }
  return prints;
}
