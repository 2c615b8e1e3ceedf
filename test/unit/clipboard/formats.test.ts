import { blake3 } from '@napi-rs/blake-hash';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClipboardSnapshot, Representation } from '../../../src/clipboard/backend.js';
import { DEFAULT_FORMATS, Fingerprint, FormatPolicy, copyFingerprints, isSensitive, type FormatPolicyOptions } from '../../../src/clipboard/formats.js';
import { TEXT_MIME } from '../../../src/sync/clip.js';

const KDE_HINT = 'x-kde-passwordManagerHint';

function policy(options: Partial<FormatPolicyOptions> = {}): FormatPolicy {
  return new FormatPolicy({ extra: [], maxFormatBytes: 1000, maxClipBytes: 10_000, sendSensitive: false, ...options });
}

const rep = (mime: string, data: string | Buffer): Representation => ({ mime, data: typeof data === 'string' ? Buffer.from(data) : data });

function snapshot(formats: Representation[], sensitive = false): ClipboardSnapshot {
  return { selection: 'clipboard', formats, sensitive };
}

/** The fingerprint hash: BLAKE3, base64 (local only, never on the wire). */
const b3 = (data: Buffer | string): string => blake3(typeof data === 'string' ? Buffer.from(data) : data).toString('base64');

describe('FormatPolicy: which types travel', () => {
  it('sends what browsers, office suites, image tools and terminals offer by default', () => {
    expect([...DEFAULT_FORMATS]).toEqual([TEXT_MIME, 'text/html', 'text/rtf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml', 'text/uri-list']);
    const p = policy();
    for (const mime of DEFAULT_FORMATS) expect(p.travels(mime)).toBe(true);
  });

  it('compares types without regard to case, and counts plain text/plain as the UTF-8 text it will be named', () => {
    const p = policy();
    expect(p.travels('TEXT/HTML')).toBe(true);
    expect(p.travels('Text/Plain;Charset=UTF-8')).toBe(true);
    expect(p.travels('text/plain')).toBe(true);
    expect(p.travels('text/plain;charset=latin1')).toBe(false);
  });

  it('sends no other type unless formats.extra names it', () => {
    expect(policy().travels('application/x-foo')).toBe(false);
    expect(policy().travels('application/vnd.oasis.opendocument.text')).toBe(false);
    const p = policy({ extra: ['Application/X-Foo'] });
    expect(p.travels('application/x-foo')).toBe(true);
    expect(p.travels('APPLICATION/X-FOO')).toBe(true);
    expect(p.travels('application/x-bar')).toBe(false);
  });

  it('asks backends to read the travelling types and the password hints, each capped at formats.maxBytes', () => {
    const options = policy({ extra: ['application/x-foo'], maxFormatBytes: 4096 }).readOptions();
    expect(options.maxFormatBytes).toBe(4096);
    for (const mime of [TEXT_MIME, 'text/plain', 'image/png', 'application/x-foo', KDE_HINT, 'org.nspasteboard.ConcealedType', 'application/x-nspasteboard-concealed-type', 'ExcludeClipboardContentFromMonitorProcessing']) {
      expect(options.accept(mime), mime).toBe(true);
    }
    for (const mime of ['TARGETS', 'UTF8_STRING', 'image/bmp', 'application/x-qt-image', 'x-kde-passwordmanagerhint', 'text/x-moz-url-priv']) {
      expect(options.accept(mime), mime).toBe(false);
    }
  });
});

describe('FormatPolicy.judge', () => {
  it('keeps the travelling formats in the owner’s order, the same objects, and lists what it left out', () => {
    const html = rep('text/html', '<b>x</b>');
    const text = rep(TEXT_MIME, 'x');
    const bmp = rep('image/bmp', 'BM');
    expect(policy().judge(snapshot([html, bmp, text]))).toEqual({ kind: 'copy', formats: [html, text], skipped: ['image/bmp'] });
    const judged = policy().judge(snapshot([html, text]));
    expect(judged.kind === 'copy' && judged.formats[0]).toBe(html);
  });

  it('names plain text/plain as UTF-8 text when it decodes as UTF-8 and there is no UTF-8 text beside it', () => {
    expect(policy().judge(snapshot([rep('text/plain', 'naïve')]))).toEqual({ kind: 'copy', formats: [rep(TEXT_MIME, 'naïve')], skipped: [] });
  });

  it('drops plain text/plain beside UTF-8 text (the same words twice), and text/plain that is not UTF-8', () => {
    const utf8 = rep(TEXT_MIME, 'words');
    expect(policy().judge(snapshot([rep('text/plain', 'words'), utf8]))).toEqual({ kind: 'copy', formats: [utf8], skipped: [] });
    const latin1 = rep('text/plain', Buffer.from([0x6e, 0x61, 0xef, 0x76, 0x65]));
    const html = rep('text/html', 'x');
    expect(policy().judge(snapshot([latin1, html]))).toEqual({ kind: 'copy', formats: [html], skipped: [] });
  });

  it('skips a format over formats.maxBytes, and one that would take the clip over maxClipBytes, keeping later ones that fit', () => {
    const p = policy({ maxFormatBytes: 100, maxClipBytes: 150 });
    const big = rep('image/png', Buffer.alloc(101));
    const first = rep('text/html', Buffer.alloc(100, 0x61));
    const second = rep('text/rtf', Buffer.alloc(60, 0x62));
    const last = rep(TEXT_MIME, Buffer.alloc(50, 0x63));
    expect(p.judge(snapshot([big, first, second, last]))).toEqual({ kind: 'copy', formats: [first, last], skipped: ['image/png', 'text/rtf'] });
  });

  it('keeps a format of exactly the caps', () => {
    const exact = rep('image/png', Buffer.alloc(100));
    expect(policy({ maxFormatBytes: 100, maxClipBytes: 100 }).judge(snapshot([exact]))).toEqual({ kind: 'copy', formats: [exact], skipped: [] });
  });

  it('is empty, naming what it skipped, when no format travels', () => {
    expect(policy().judge(snapshot([rep('image/bmp', 'BM'), rep('application/x-foo', 'x')]))).toEqual({ kind: 'empty', skipped: ['image/bmp', 'application/x-foo'] });
    expect(policy().judge(snapshot([]))).toEqual({ kind: 'empty', skipped: [] });
  });

  it('drops a copy marked secret whole', () => {
    const secret = snapshot([rep(TEXT_MIME, 'hunter2'), rep(KDE_HINT, 'secret')]);
    expect(policy().judge(secret)).toEqual({ kind: 'sensitive' });
    expect(policy().judge(snapshot([rep(TEXT_MIME, 'hunter2')], true))).toEqual({ kind: 'sensitive' });
  });

  it('with sendSensitive, sends a secret copy without its hint', () => {
    const text = rep(TEXT_MIME, 'hunter2');
    expect(policy({ sendSensitive: true }).judge(snapshot([text, rep(KDE_HINT, 'secret')]))).toEqual({ kind: 'copy', formats: [text], skipped: [] });
    expect(policy({ sendSensitive: true }).judge(snapshot([text], true))).toEqual({ kind: 'copy', formats: [text], skipped: [] });
  });

  it('never sends a hint as a format, even when it does not mark a secret', () => {
    const text = rep(TEXT_MIME, 'not a password');
    expect(policy().judge(snapshot([rep(KDE_HINT, 'other'), text]))).toEqual({ kind: 'copy', formats: [text], skipped: [] });
  });
});

describe('isSensitive', () => {
  it('follows the platform’s own mark (Wayland CLIPBOARD_STATE=sensitive)', () => {
    expect(isSensitive(snapshot([rep(TEXT_MIME, 'x')], true))).toBe(true);
    expect(isSensitive(snapshot([rep(TEXT_MIME, 'x')]))).toBe(false);
  });

  it.each([
    ['KDE’s hint "secret"', rep(KDE_HINT, 'secret')],
    ['KDE’s hint with a line end and other case', rep(KDE_HINT, ' Secret\n')],
    ['macOS’s concealed type', rep('org.nspasteboard.ConcealedType', '')],
    ['the concealed type as a media type', rep('application/x-nspasteboard-concealed-type', 'anything')],
    ['Windows’ monitor opt-out', rep('ExcludeClipboardContentFromMonitorProcessing', Buffer.alloc(4))],
  ])('is true for %s', (_what, hint) => {
    expect(isSensitive(snapshot([rep(TEXT_MIME, 'hunter2'), hint]))).toBe(true);
  });

  it.each([
    ['KDE’s hint with another value', rep(KDE_HINT, 'accepted')],
    ['KDE’s hint spelled in lower case (types are case-sensitive here)', rep('x-kde-passwordmanagerhint', 'secret')],
    ['the word secret as text', rep(TEXT_MIME, 'secret')],
  ])('is false for %s', (_what, format) => {
    expect(isSensitive(snapshot([rep(TEXT_MIME, 'hunter2'), format]))).toBe(false);
  });
});

describe('copyFingerprints', () => {
  it('is one BLAKE3 (base64) per format, in order, over the bytes as they are for non-text', () => {
    const png = Buffer.from([0x89, 0x50, 0x0d, 0x0a, 0x00]);
    expect(copyFingerprints([rep('image/png', png), rep('application/x-foo', 'ab')])).toEqual([b3(png), b3('ab')]);
  });

  it('takes text with CRLF line ends or trailing NULs for the same text', () => {
    const [lf] = copyFingerprints([rep(TEXT_MIME, 'one\ntwo\n')]);
    expect(lf).toBe(b3('one\ntwo\n'));
    expect(copyFingerprints([rep(TEXT_MIME, 'one\r\ntwo\r\n')])).toEqual([lf]);
    expect(copyFingerprints([rep('text/html', 'one\ntwo\n\0\0')])).toEqual([lf]);
    expect(copyFingerprints([rep(TEXT_MIME, 'one\ntwo\n\0')])).toEqual([lf]);
  });

  it('does not count the type name, only whether it is text', () => {
    expect(copyFingerprints([rep('text/plain', 'same')])).toEqual(copyFingerprints([rep(TEXT_MIME, 'same')]));
    expect(copyFingerprints([rep('image/png', 'same')])).toEqual(copyFingerprints([rep('application/octet-stream', 'same')]));
    expect(copyFingerprints([rep('image/png', 'a\r\nb')])).not.toEqual(copyFingerprints([rep('text/plain', 'a\r\nb')]));
  });

  it('keeps a lone CR, a NUL inside the text and a leading NUL', () => {
    expect(copyFingerprints([rep(TEXT_MIME, 'a\rb')])).toEqual([b3('a\rb')]);
    expect(copyFingerprints([rep(TEXT_MIME, 'a\0b')])).toEqual([b3('a\0b')]);
    expect(copyFingerprints([rep(TEXT_MIME, '\0a')])).toEqual([b3('\0a')]);
  });

  it('leaves multi-byte UTF-8 text intact while normalizing it', () => {
    expect(copyFingerprints([rep(TEXT_MIME, 'café — 日本\r\n')])).toEqual([b3(Buffer.from('café — 日本\n'))]);
  });
});

describe('Fingerprint fed in pieces', () => {
  it('equals the fingerprint of the whole bytes, wherever the pieces split (CR LF and trailing NULs across a split included)', () => {
    const byte = fc.constantFrom(0x0d, 0x0a, 0x00, 0x41, 0xc3);
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 6 }), fc.constantFrom('text/plain;charset=utf-8', 'image/png'), (bytes, cuts, mime) => {
        const data = Buffer.from(bytes);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const print = new Fingerprint(mime);
        let at = 0;
        for (const p of [...points, data.length]) {
          print.update(data.subarray(at, p));
          at = p;
        }
        expect(print.digest()).toBe(copyFingerprints([{ mime, data }])[0]);
      }),
      { numRuns: 500 },
    );
  });

  it('treats text with CRLF or trailing NULs as the same text, and other bytes as different', () => {
    const [lf, crlf, nul, other] = copyFingerprints([
      { mime: 'text/plain', data: Buffer.from('a\nb\n') },
      { mime: 'text/plain', data: Buffer.from('a\r\nb\r\n') },
      { mime: 'text/plain', data: Buffer.from('a\nb\n\0\0') },
      { mime: 'text/plain', data: Buffer.from('a\rb\n') },
    ]);
    expect(crlf).toBe(lf);
    expect(nul).toBe(lf);
    expect(other).not.toBe(lf);
  });
});
