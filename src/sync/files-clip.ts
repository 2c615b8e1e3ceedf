import { rootId } from '../content/content-hash.js';
import type { FileTree } from '../files/file-tree.js';
import { DATA_MIME, MANIFEST_MIME, encodeManifest } from '../files/manifest.js';
import { walkPaths, type WalkLimits, type WalkedTree } from '../files/walk.js';
import { formatsTrailer, type ClipFormat } from './clip.js';
import { treeLeaves } from '../files/tree-leaves.js';
import type { LocalBody, SyncEngine } from './sync-engine.js';
import type { Logger } from '../core/log.js';

/** A files clip made here, ready for `SyncEngine.copyLocal`: its body, formats and what the walk left out. */
export interface LocalFilesClip {
  body: LocalBody;
  formats: ClipFormat[];
  skipped: WalkedTree['skipped'];
  count: number;
  totalBytes: number;
}

/**
 * Makes a files clip of the paths a user copied (`clipsync copy --files`, or a file manager's
 * copy): walks them into a manifest, then reads every file once to hash the clip's body (the
 * manifest, then the files' bytes), as any clip is hashed before it is offered. The files stay
 * where they are; a transfer reads them there, and fails cleanly if one changed meanwhile.
 */
export async function makeFilesClip(paths: readonly string[], limits: WalkLimits, cut = false): Promise<LocalFilesClip> {
  const walked = await walkPaths(paths, limits, cut);
  const manifestBytes = encodeManifest(walked.manifest);
  const tree: FileTree = { manifest: walked.manifest, manifestBytes, files: walked.files, roots: walked.roots };
  const formats: ClipFormat[] = [
    { mime: MANIFEST_MIME, size: manifestBytes.length },
    { mime: DATA_MIME, size: walked.manifest.totalBytes },
  ];
  const size = manifestBytes.length + walked.manifest.totalBytes;
  const leaves = await treeLeaves(tree, size);
  return {
    body: { tree, id: rootId(leaves, formatsTrailer(formats)), size, leaves },
    formats,
    skipped: walked.skipped,
    count: walked.manifest.count,
    totalBytes: walked.manifest.totalBytes,
  };
}

/**
 * Copies files here (a file manager's copy, or `clipsync copy --files`): makes the files clip
 * and hands it to the engine, warning of whatever the walk left out (symlinks, devices, FIFOs).
 */
export async function copyFilesLocally(sync: SyncEngine, paths: readonly string[], limits: WalkLimits, source: 'cli' | 'clipboard', log: Logger, cut = false): Promise<{ made: LocalFilesClip; copied: Awaited<ReturnType<SyncEngine['copyLocal']>> }> {
  const made = await makeFilesClip(paths, limits, cut);
  for (const skipped of made.skipped) log.warn({ path: skipped.path, why: skipped.why }, 'left out of a files clip');
  const copied = await sync.copyLocal(made.body, made.formats, source);
  return { made, copied };
}
