import { Blake3Hasher } from '@napi-rs/blake-hash';
import { TEXT_MIME } from '../sync/clip.js';
import type { ClipboardSnapshot, ReadOptions, Representation } from './backend.js';
import { FILE_LIST_HINTS, localFileList } from '../files/desktop-formats.js';

/**
 * Which of a copy's formats travel, how large they may be, and whether a password manager
 * marked the copy secret: the one place that knows, whatever the platform.
 */

/** What travels by default: what browsers, office suites, image tools and terminals offer and read. */
export const DEFAULT_FORMATS: readonly string[] = [
  TEXT_MIME,
  'text/html',
  'text/rtf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/svg+xml',
  'text/uri-list',
];

/**
 * Marks a password manager puts beside a secret, and the value that means "secret" (undefined:
 * present at all). KeePassXC and KDE's Klipper use the KDE hint on X11 and Wayland; macOS
 * managers use the nspasteboard.org types; Windows' clipboard-history opt-outs travel through
 * XWayland and wine as well.
 */
const SENSITIVE_HINTS: ReadonlyMap<string, string | undefined> = new Map([
  ['x-kde-passwordManagerHint', 'secret'],
  ['org.nspasteboard.ConcealedType', undefined],
  ['application/x-nspasteboard-concealed-type', undefined],
  ['ExcludeClipboardContentFromMonitorProcessing', undefined],
]);

/** How a copy was judged: its travelling formats, or why there are none. */
export type Judgement =
  | {
      kind: 'copy';
      formats: Representation[];
      skipped: string[];
      /** A file manager's copy of files on this machine (desktop-formats.ts): sent as a files clip. */
      files?: { paths: string[]; cut: boolean };
    }
  | { kind: 'sensitive' }
  | { kind: 'empty'; skipped: string[] };

export interface FormatPolicyOptions {
  /** Types that travel besides the defaults (config `formats.extra`), e.g. an app's private type. */
  extra: readonly string[];
  /** The most bytes one format may have (config `formats.maxBytes`). */
  maxFormatBytes: number;
  /** The most bytes all formats of a clip may have together (config `maxClipBytes`). */
  maxClipBytes: number;
  /** Send copies a password manager marked secret (config `sendSensitive`, off by default). */
  sendSensitive: boolean;
}

export class FormatPolicy {
  private travelling!: Set<string>;

  constructor(private options: FormatPolicyOptions) {
    this.update(options);
  }

  /** New settings from a config reload: the next copy is judged by them. */
  update(options: FormatPolicyOptions): void {
    this.options = options;
    this.travelling = new Set([...DEFAULT_FORMATS, ...options.extra].map((t) => t.toLowerCase()));
  }

  /** What a backend should read of a copy: the travelling types and the password hints. */
  readOptions(): ReadOptions {
    return { accept: (mime) => this.travels(mime) || SENSITIVE_HINTS.has(mime) || FILE_LIST_HINTS.includes(mime.toLowerCase()), maxFormatBytes: this.options.maxFormatBytes };
  }

  travels(mime: string): boolean {
    const lower = mime.toLowerCase();
    return this.travelling.has(lower) || (lower === 'text/plain' && this.travelling.has(TEXT_MIME));
  }

  /**
   * A snapshot as the sync engine should see it: secret copies dropped whole (unless
   * `sendSensitive`), formats that do not travel or break a cap left out, and plain
   * `text/plain` named as the UTF-8 text it is when it decodes as such.
   */
  judge(snapshot: ClipboardSnapshot): Judgement {
    if (!this.options.sendSensitive && isSensitive(snapshot)) return { kind: 'sensitive' };
    const skipped: string[] = [];
    const kept: Representation[] = [];
    let total = 0;
    const hasUtf8 = snapshot.formats.some((f) => f.mime.toLowerCase() === TEXT_MIME);
    for (const format of snapshot.formats) {
      let { mime } = format;
      if (SENSITIVE_HINTS.has(mime) || FILE_LIST_HINTS.includes(mime.toLowerCase())) continue;
      if (mime.toLowerCase() === 'text/plain') {
        if (hasUtf8 || !isUtf8(format.data)) continue;
        mime = TEXT_MIME;
      }
      if (!this.travels(mime) || format.data.length > this.options.maxFormatBytes || total + format.data.length > this.options.maxClipBytes) {
        skipped.push(mime);
        continue;
      }
      total += format.data.length;
      kept.push(mime === format.mime ? format : { mime, data: format.data });
    }
    if (kept.length === 0) return { kind: 'empty', skipped };
    const files = localFileList(snapshot.formats);
    return files === undefined ? { kind: 'copy', formats: kept, skipped } : { kind: 'copy', formats: kept, skipped, files };
  }
}

/** True when the platform or a password-manager hint marks the copy secret. */
export function isSensitive(snapshot: ClipboardSnapshot): boolean {
  if (snapshot.sensitive) return true;
  return snapshot.formats.some((f) => {
    if (!SENSITIVE_HINTS.has(f.mime)) return false;
    const value = SENSITIVE_HINTS.get(f.mime);
    return value === undefined || f.data.toString('utf8').trim().toLowerCase() === value;
  });
}

/**
 * Fingerprints of a copy's bytes that survive an app re-offering it: text with CRLF line ends
 * (GTK) or a trailing NUL is the same text, and the type names do not count. Two copies whose
 * fingerprints all match the last clip's are the same copy, not a new one.
 */
export function copyFingerprints(formats: readonly { mime: string; data: Buffer }[]): string[] {
  return formats.map((f) => {
    const print = new Fingerprint(f.mime);
    print.update(f.data);
    return print.digest();
  });
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * One format's fingerprint, fed in pieces (a spooled clip is hashed as it streams, never held
 * whole): the same value `copyFingerprints` gives for the whole bytes. For text, a CR that may
 * pair with an LF in the next piece, and NULs that may turn out to be trailing, are held back.
 */
export class Fingerprint {
  // BLAKE3: a fingerprint never leaves the machine, and a 256 MiB clip written to the
  // desktop is hashed here in a few tens of milliseconds rather than SHA-256's few hundred.
  private readonly hash = new Blake3Hasher();
  private readonly text: boolean;
  private held: Buffer = Buffer.alloc(0);

  constructor(mime: string) {
    this.text = mime.startsWith('text/');
  }

  update(chunk: Buffer): void {
    if (!this.text) {
      this.hash.update(chunk);
      return;
    }
    const bytes = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    let keep = bytes.length;
    while (keep > 0 && bytes[keep - 1] === 0) keep -= 1;
    if (keep === bytes.length && keep > 0 && bytes[keep - 1] === CR) keep -= 1;
    this.held = Buffer.from(bytes.subarray(keep));
    this.hash.update(withoutCrBeforeLf(bytes.subarray(0, keep)));
  }

  digest(): string {
    // Held at the end: trailing NULs, dropped; or a last CR with no LF after it, kept.
    if (this.held.length > 0 && this.held[0] === CR) this.hash.update(this.held.subarray(0, 1));
    return this.hash.digestBuffer().toString('base64');
  }
}

function withoutCrBeforeLf(bytes: Buffer): Buffer {
  if (!bytes.includes(CR)) return bytes;
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === CR && bytes[i + 1] === LF) continue;
    out[n++] = bytes[i]!;
  }
  return out.subarray(0, n);
}

function isUtf8(data: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}
