import { formatsTrailer, type ClipMeta } from '../sync/clip.js';
import type { IncomingSink } from '../sync/clip-body.js';
import type { Spool } from './spool.js';
import type { SpoolPort } from '../sync/ports.js';
import type { ManifestLimits } from '../files/manifest.js';
import { FilesSink } from './files-sink.js';

/** Where received files clips go, and the limits their manifests are checked against (live config). */
export interface ReceivedFilesOptions {
  dir: string;
  limits: () => ManifestLimits;
}

/**
 * The spool as the engine and the copy route use it: incoming clips as sinks, local copies
 * stored by content id, and pins by id (the engine pins its current clip, whatever its age).
 */
export function spoolPort(spool: Spool, onCopyFailed: (path: string, err: unknown) => void = () => undefined, files?: ReceivedFilesOptions): SpoolPort {
  const unpins = new Map<string, () => void>();
  return {
    ...(files !== undefined
      ? {
          async beginFiles(meta: ClipMeta) {
            const unpin = spool.pin(meta.id);
            try {
              const sink = await FilesSink.open(meta, files.dir, files.limits());
              // Pinned while it arrives: the clean-up of received files never takes a clip being written.
              const release = <T>(step: () => Promise<T>) => step().finally(unpin);
              return {
                get offset() {
                  return sink.offset;
                },
                get manifest() {
                  return sink.manifest;
                },
                get roots() {
                  return sink.roots;
                },
                write: (chunk: Buffer) => sink.write(chunk),
                rewind: () => sink.rewind(),
                finish: () => release(() => sink.finish()),
                suspend: () => release(() => sink.suspend()),
                discard: () => release(() => sink.discard()),
              };
            } catch (err) {
              unpin();
              throw err;
            }
          },
        }
      : {}),
    async beginIncoming(meta: ClipMeta): Promise<IncomingSink> {
      const incoming = await spool.beginIncoming({ id: meta.id, size: meta.size, leaves: meta.leaves! });
      return {
        get offset() {
          return incoming.offset;
        },
        write: (chunk) => incoming.write(chunk),
        rewind: () => incoming.rewind(),
        finish: async () => ({ file: (await incoming.finish()).file }),
        suspend: () => incoming.suspend(),
        discard: () => incoming.discard(),
      };
    },
    pin(id: string): void {
      if (!unpins.has(id)) unpins.set(id, spool.pin(id));
    },
    unpin(id: string): void {
      unpins.get(id)?.();
      unpins.delete(id);
    },
    async storeLocal(source, formatsOf) {
      const stored = await spool.storeLocal(source, { trailer: (size) => formatsTrailer(formatsOf(size)) });
      return { id: stored.id, size: stored.size, path: stored.file, leaves: stored.leaves };
    },
    async storeLocalFile(path, formatsOf, options = {}) {
      // A copy made after the command answered fails where nobody waits: the log says so.
      const stored = await spool.storeLocalFile(path, {
        ...options,
        trailer: (size) => formatsTrailer(formatsOf(size)),
        onCopyFailed: (err) => onCopyFailed(path, err),
      });
      return { id: stored.id, size: stored.size, path: stored.file, leaves: stored.leaves, copy: stored.copy };
    },
  };
}
