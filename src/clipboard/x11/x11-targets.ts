/**
 * Pure decisions about X11 selection targets: which of an owner's targets to read and under which
 * media type, and which targets to offer for the formats clipsync owns. Kept free of any X
 * connection so the rules (that are easy to get subtly wrong) are unit-tested on their own.
 */

/** The one media type clipsync uses for text, whatever X11 target carried it. */
export const UTF8_TEXT = 'text/plain;charset=utf-8';

/**
 * Targets that describe the selection or drive the protocol instead of holding content (ICCCM
 * §2.6.2 and friends). Reading them as formats would ship atoms and window ids to other machines,
 * and some (DELETE, INSERT_*) have side effects on the owner.
 */
const PLUMBING = new Set([
  'TARGETS',
  'TIMESTAMP',
  'MULTIPLE',
  'SAVE_TARGETS',
  'DELETE',
  'INCR',
  'ATOM',
  'ATOM_PAIR',
  'INTEGER',
  'WINDOW',
  'PIXMAP',
  'DRAWABLE',
  'BITMAP',
  'COLORMAP',
  'INSERT_SELECTION',
  'INSERT_PROPERTY',
  'LENGTH',
  'LIST_LENGTH',
  'TARGET_SIZES',
  'CLIENT_WINDOW',
  'HOST_NAME',
  'NAME',
  'OWNER_OS',
  'PROCESS',
  'TASK',
  'USER',
  'CLASS',
  'LINE_NUMBER',
  'COLUMN_NUMBER',
  'CHARACTER_POSITION',
  'SPAN',
  'CLIPBOARD_MANAGER',
  'NULL',
  '_NET_WM_PID',
]);

export function isPlumbingTarget(name: string): boolean {
  return PLUMBING.has(name);
}

/** `text/plain;charset=UTF-8`, `text/plain; charset=utf-8` … all name the same thing. */
export function isUtf8TextMime(name: string): boolean {
  return name.toLowerCase().replace(/\s+/g, '') === UTF8_TEXT;
}

/** How to turn a property's bytes into the format's bytes. */
export type Decoding = 'raw' | 'latin1';

/** One target to ask the owner for, and the format it becomes. */
export interface PlannedRead {
  target: string;
  mime: string;
  decoding: Decoding;
}

/**
 * Which of the owner's targets to read, in the owner's order. Text is read once, from the best
 * UTF-8 target (`text/plain;charset=utf-8` beats `UTF8_STRING`: it is the one apps that care about
 * encodings set deliberately); STRING is used, as Latin-1, only when nothing better exists.
 * Everything else goes to `accept` by its atom name.
 */
export function planRead(targets: readonly string[], accept: (mime: string) => boolean): PlannedRead[] {
  const unique = [...new Set(targets)];
  const utf8Mime = unique.find(isUtf8TextMime);
  const textTarget = utf8Mime ?? (unique.includes('UTF8_STRING') ? 'UTF8_STRING' : undefined);
  const latin1Fallback = textTarget === undefined && unique.includes('STRING') ? 'STRING' : undefined;
  const wantText = (textTarget !== undefined || latin1Fallback !== undefined) && accept(UTF8_TEXT);

  const plan: PlannedRead[] = [];
  for (const target of unique) {
    if (isPlumbingTarget(target)) continue;
    if (target === textTarget) {
      if (wantText) plan.push({ target, mime: UTF8_TEXT, decoding: 'raw' });
      continue;
    }
    if (target === latin1Fallback) {
      if (wantText) plan.push({ target, mime: UTF8_TEXT, decoding: 'latin1' });
      continue;
    }
    // Other spellings of UTF-8 text, and legacy encodings of text we already read (or could
    // not decode reliably: COMPOUND_TEXT is ISO 2022, TEXT is whatever the owner picks).
    if (isUtf8TextMime(target) || target === 'UTF8_STRING') continue;
    if (target === 'STRING' || target === 'TEXT' || target === 'COMPOUND_TEXT') continue;
    if (target === 'text/plain' && textTarget !== undefined) continue;
    if (accept(target)) plan.push({ target, mime: target, decoding: 'raw' });
  }
  return plan;
}

/** Latin-1 (ICCCM STRING) bytes as UTF-8; every byte is a code point, so nothing can fail. */
export function latin1ToUtf8(data: Buffer): Buffer {
  return Buffer.from(data.toString('latin1'), 'utf8');
}

/** UTF-8 text as STRING for old requestors; characters Latin-1 lacks become '?'. */
export function utf8ToLatin1(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0x3f;
    out[n++] = code <= 0xff ? code : 0x3f;
  }
  return out.subarray(0, n);
}

/** A target clipsync answers while it owns a selection, and where its bytes come from. */
export interface ServedTarget {
  target: string;
  /** The format (by media type) whose bytes answer it. */
  mime: string;
  /** The property type to reply with (ICCCM: the type says how to read the bytes). */
  type: string;
  encoding: 'raw' | 'latin1';
}

/**
 * Every content target to offer for the formats of a clip, first format first. UTF-8 text is also
 * offered under the names older toolkits ask for (UTF8_STRING, STRING, TEXT, text/plain).
 */
export function servedTargets(mimes: readonly string[]): ServedTarget[] {
  const served = new Map<string, ServedTarget>();
  const add = (entry: ServedTarget): void => {
    if (!served.has(entry.target) && !isPlumbingTarget(entry.target)) served.set(entry.target, entry);
  };
  for (const mime of mimes) {
    if (isUtf8TextMime(mime)) {
      add({ target: mime, mime, type: mime, encoding: 'raw' });
      add({ target: 'UTF8_STRING', mime, type: 'UTF8_STRING', encoding: 'raw' });
      add({ target: 'text/plain', mime, type: 'text/plain', encoding: 'raw' });
      // TEXT lets the owner pick the type; UTF8_STRING is what every current toolkit expects.
      add({ target: 'TEXT', mime, type: 'UTF8_STRING', encoding: 'raw' });
      add({ target: 'STRING', mime, type: 'STRING', encoding: 'latin1' });
    } else {
      add({ target: mime, mime, type: mime, encoding: 'raw' });
    }
  }
  return [...served.values()];
}

/** The full TARGETS answer: the protocol targets clipsync supports, then the content targets. */
export function targetsList(mimes: readonly string[]): string[] {
  return ['TARGETS', 'TIMESTAMP', ...servedTargets(mimes).map((t) => t.target)];
}
