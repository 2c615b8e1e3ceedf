import type { FileManifest } from '../files/manifest.js';
import type { FilesManifestView } from './schema.js';

/** A files clip's manifest as the control API shows it (`paste --list`). */
export function manifestView(manifest: FileManifest): FilesManifestView {
  return {
    count: manifest.count,
    totalBytes: manifest.totalBytes,
    cut: manifest.cut,
    entries: manifest.entries.map((e) => (e.dir === true ? { path: e.path, dir: true } : { path: e.path, size: e.size, exec: e.exec })),
  };
}

