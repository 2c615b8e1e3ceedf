import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { badIdError } from './spool-errors.js';

/**
 * How spool files are named. A clip id comes from a peer, so it is checked before it is ever
 * joined to a path: only 64 lowercase hex digits (BLAKE2b-256), nothing that could climb out
 * of the spool directory.
 *
 *   <id>                 a complete, verified clip
 *   <id>.part            an incoming clip, verified up to the offset in its sidecar
 *   <id>.part.json       the sidecar: the offset up to which the part is synced to disk
 *   *.tmp                being written; never trusted, removed when the spool opens
 */

const ID = /^[0-9a-f]{64}$/;
export const PART_SUFFIX = '.part';
export const SIDECAR_SUFFIX = '.part.json';
export const TEMP_SUFFIX = '.tmp';

export function isClipId(value: string): boolean {
  return ID.test(value);
}

export function assertClipId(value: string): void {
  if (!isClipId(value)) throw badIdError(value);
}

export interface SpoolFileNames {
  complete: string;
  part: string;
  sidecar: string;
}

export function spoolFiles(dir: string, id: string): SpoolFileNames {
  assertClipId(id);
  return { complete: join(dir, id), part: join(dir, id + PART_SUFFIX), sidecar: join(dir, id + SIDECAR_SUFFIX) };
}

/** A fresh temp file name in `dir`: unique within and across processes. */
export function tempFile(dir: string, stem: string): string {
  return join(dir, `${stem}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

export type SpoolFileKind = { kind: 'complete' | 'part' | 'sidecar'; id: string } | { kind: 'temp' };

/** What a directory entry is, or undefined for something the spool did not make. */
export function classify(name: string): SpoolFileKind | undefined {
  if (name.endsWith(TEMP_SUFFIX)) return { kind: 'temp' };
  if (isClipId(name)) return { kind: 'complete', id: name };
  for (const [suffix, kind] of [
    [SIDECAR_SUFFIX, 'sidecar'],
    [PART_SUFFIX, 'part'],
  ] as const) {
    if (name.endsWith(suffix) && isClipId(name.slice(0, -suffix.length))) return { kind, id: name.slice(0, -suffix.length) };
  }
  return undefined;
}
