/**
 * Which offered types to read, and which single type to write. Pure functions, unit-tested.
 */

/** The one name clipsync gives plain text, whatever the owner called it. */
export const TEXT_MIME = 'text/plain;charset=utf-8';

/**
 * The names an owner may give the same plain text (wl-copy offers all five for one text), best
 * first: UTF-8 by declaration, then the X11 UTF-8 target, then the undeclared ones. Reading one
 * of them is enough; the rest would be duplicates of the same bytes.
 */
const TEXT_ALIASES = [TEXT_MIME, 'UTF8_STRING', 'text/plain', 'TEXT', 'STRING'];

/** True for any name of plain text (a clip from another platform may say `text/plain`). */
export function isTextAlias(mime: string): boolean {
  return TEXT_ALIASES.includes(mime);
}

export interface PlannedRead {
  /** The type the clip records (`TEXT_MIME` for any text alias). */
  mime: string;
  /** The type to ask wl-paste for (`-t`), exactly as the owner offered it. */
  request: string;
}

/**
 * The reads for one copy, in the owner's order (the text at the place of its first alias), each
 * type once, only those `accept` lets through.
 */
export function planReads(offered: string[], accept: (mime: string) => boolean): PlannedRead[] {
  const plan: PlannedRead[] = [];
  const seen = new Set<string>();
  for (const type of offered) {
    if (type === '' || seen.has(type)) continue;
    if (TEXT_ALIASES.includes(type)) {
      if (seen.has(TEXT_MIME)) continue;
      seen.add(TEXT_MIME);
      const best = TEXT_ALIASES.find((alias) => offered.includes(alias))!;
      if (accept(TEXT_MIME)) plan.push({ mime: TEXT_MIME, request: best });
      continue;
    }
    seen.add(type);
    if (accept(type)) plan.push({ mime: type, request: type });
  }
  return plan;
}

/**
 * The one type a write offers. wl-copy holds a single content under a single type (it adds the
 * text aliases by itself for a text type), so a clip with several formats loses all but one on
 * Wayland: files as their URI list, an image if there is one (the reason to copy it), else UTF-8 text (what every app can
 * paste), else HTML, else the first format. Apps that would have pasted a richer format get this
 * one instead.
 */
export function richestType<T extends { mime: string }>(formats: T[]): T | undefined {
  // Files (a file manager's file list): the URI list, what every file manager pastes.
  const fileList = formats.some((f) => f.mime === 'x-special/gnome-copied-files') ? formats.find((f) => f.mime === 'text/uri-list') : undefined;
  return (
    fileList ??
    formats.find((f) => f.mime.startsWith('image/')) ??
    formats.find((f) => f.mime === TEXT_MIME) ??
    formats.find((f) => isTextAlias(f.mime)) ??
    formats.find((f) => f.mime === 'text/html') ??
    formats[0]
  );
}

/** Splits wl-paste --list-types output into types. */
export function parseTypeList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
