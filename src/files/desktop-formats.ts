import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How desktops put files on the clipboard, both ways: what a file manager offers when it
 * copies files (read here to make a files clip), and what this machine offers for a received
 * one (local paths, so paste in the file manager copies them).
 *
 * - `text/uri-list` (RFC 2483): `file://` URIs, CRLF after each; every toolkit reads it, and
 *   macOS's `public.file-url` is mapped to it by the pasteboard helper.
 * - `x-special/gnome-copied-files`: `copy` or `cut`, then one URI per line; Nautilus, Nemo,
 *   Thunar and Caja read this one first.
 * - `application/x-kde-cutselection`: `1` when Dolphin cut rather than copied.
 * - `text/plain;charset=utf-8`: the paths, one per line, for a terminal or an editor.
 */
export const URI_LIST_MIME = 'text/uri-list';
export const GNOME_FILES_MIME = 'x-special/gnome-copied-files';
export const KDE_CUT_MIME = 'application/x-kde-cutselection';

/** Types read only to recognise a file copy: they never travel themselves. */
export const FILE_LIST_HINTS: readonly string[] = [GNOME_FILES_MIME, KDE_CUT_MIME];

/** The formats that offer `roots` (absolute local paths) to the desktop as copied files. */
export function fileListFormats(roots: readonly string[]): { mime: string; data: Buffer }[] {
  const uris = roots.map((root) => pathToFileURL(root).href);
  return [
    { mime: URI_LIST_MIME, data: Buffer.from(uris.map((u) => `${u}\r\n`).join(''), 'utf8') },
    { mime: GNOME_FILES_MIME, data: Buffer.from(['copy', ...uris].join('\n'), 'utf8') },
    { mime: 'text/plain;charset=utf-8', data: Buffer.from(roots.join('\n'), 'utf8') },
  ];
}

/**
 * The local files a copy offers, when it is a file manager's copy: every URI in its file list
 * is a `file:` URI of this machine. Undefined for anything else (a link copied from a browser
 * is a `text/uri-list` too, and travels as the text it is).
 */
export function localFileList(formats: readonly { mime: string; data: Buffer }[]): { paths: string[]; cut: boolean } | undefined {
  const find = (mime: string) => formats.find((f) => f.mime.toLowerCase() === mime)?.data.toString('utf8');
  const gnome = find(GNOME_FILES_MIME);
  const uriList = find(URI_LIST_MIME);
  let uris: string[];
  let cut = find(KDE_CUT_MIME)?.trim() === '1';
  if (gnome !== undefined) {
    const [action, ...rest] = gnome.split(/\r?\n/);
    cut ||= action?.trim() === 'cut';
    uris = rest;
  } else if (uriList !== undefined) {
    uris = uriList.split(/\r?\n/).filter((line) => !line.startsWith('#'));
  } else {
    return undefined;
  }
  uris = uris.map((u) => u.replace(/\0+$/, '').trim()).filter((u) => u !== '');
  if (uris.length === 0) return undefined;
  const paths: string[] = [];
  for (const uri of uris) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'file:' || (url.hostname !== '' && url.hostname !== 'localhost')) return undefined;
    try {
      paths.push(fileURLToPath(url));
    } catch {
      return undefined;
    }
  }
  return { paths, cut };
}
