import { describe, expect, it } from 'vitest';
import { encodeManifest, fileSpans, parseManifest, rootsOf, type FileManifest } from '../../../src/files/manifest.js';

const LINUX = { maxEntries: 100, foldsCase: false };
const MACOS = { maxEntries: 100, foldsCase: true };

function raw(entries: unknown[], totalBytes: number, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, count: entries.length, totalBytes, cut: false, entries, ...extra }));
}

describe('files manifest', () => {
  const sample: FileManifest = {
    entries: [
      { path: 'dir', dir: true },
      { path: 'dir/a.txt', size: 3, exec: false },
      { path: 'dir/sub', dir: true },
      { path: 'dir/sub/run', size: 2, exec: true },
      { path: 'top.bin', size: 0, exec: false },
    ],
    count: 5,
    totalBytes: 5,
    cut: true,
  };

  it('round-trips through its wire form, and knows its roots and where each file is in the data', () => {
    const bytes = encodeManifest(sample);
    expect(bytes.toString()).toBe(
      '{"version":1,"count":5,"totalBytes":5,"cut":true,"entries":[{"p":"dir","d":1},{"p":"dir/a.txt","s":3},{"p":"dir/sub","d":1},{"p":"dir/sub/run","s":2,"x":1},{"p":"top.bin","s":0}]}',
    );
    expect(parseManifest(bytes, 5, LINUX)).toEqual(sample);
    expect(rootsOf(sample).map((e) => e.path)).toEqual(['dir', 'top.bin']);
    expect(fileSpans(sample)).toEqual([
      { index: 1, path: 'dir/a.txt', start: 0, size: 3 },
      { index: 3, path: 'dir/sub/run', start: 3, size: 2 },
      { index: 4, path: 'top.bin', start: 5, size: 0 },
    ]);
  });

  const refused: [string, unknown[], number, RegExp][] = [
    ['absolute', [{ p: '/etc/passwd', s: 1 }], 1, /entry 1 "\/etc\/passwd": the name is an absolute path/],
    ['parent', [{ p: '..', d: 1 }], 0, /entry 1 "\.\.": the name has a "\.\." component/],
    ['nested parent', [{ p: 'a', d: 1 }, { p: 'a/../../x', s: 1 }], 1, /entry 2 .*"\.\." component/],
    ['dot', [{ p: '.', d: 1 }], 0, /"\." component/],
    ['empty', [{ p: '', s: 1 }], 1, /entry 1 "": the name is empty/],
    ['trailing slash', [{ p: 'a/', d: 1 }], 0, /empty component/],
    ['NUL', [{ p: 'a\u0000', s: 1 }], 1, /NUL byte/],
    ['backslash', [{ p: 'a\\..\\x', s: 1 }], 1, /backslash/],
    ['drive letter', [{ p: 'C:x', s: 1 }], 1, /drive letter/],
    ['long component', [{ p: 'é'.repeat(128), s: 1 }], 1, /over 255 bytes/],
    ['long path', [{ p: Array.from({ length: 20 }, () => 'x'.repeat(200)).join('/'), s: 1 }], 1, /over 3072 bytes/],
    ['lone surrogate', [{ p: 'a\ud800', s: 1 }], 1, /not valid Unicode/],
    ['duplicate', [{ p: 'x', s: 1 }, { p: 'x', s: 0 }], 1, /entry 2 "x": the name is listed twice/],
    ['orphan', [{ p: 'missing/x', s: 1 }], 1, /its folder is not listed before it/],
    ['negative size', [{ p: 'x', s: -1 }], 0, /not a whole number of bytes/],
    ['fraction size', [{ p: 'x', s: 0.5 }], 0, /not a whole number of bytes/],
    ['folder with size', [{ p: 'x', d: 1, s: 3 }], 0, /a folder has no size/],
    ['odd mode', [{ p: 'x', s: 1, x: 7 }], 1, /its mode is not 1/],
    ['sum too small', [{ p: 'x', s: 1 }], 2, /add up to 1 bytes, not the 2/],
    ['nothing', [], 0, /it lists nothing/],
  ];
  for (const [what, entries, total, reason] of refused) {
    it(`refuses the whole clip for ${what}`, () => {
      expect(() => parseManifest(raw(entries, total), total, LINUX)).toThrow(reason);
    });
  }

  it('refuses a count that is not the list, a total that is not the data, another version, and over the entry cap', () => {
    expect(() => parseManifest(Buffer.from(JSON.stringify({ version: 1, count: 2, totalBytes: 0, entries: [{ p: 'x', s: 0 }] })), 0, LINUX)).toThrow(/says 2 entries but lists 1/);
    expect(() => parseManifest(raw([{ p: 'x', s: 1 }], 1), 2, LINUX)).toThrow(/says 1 bytes of files but the clip carries 2/);
    expect(() => parseManifest(raw([{ p: 'x', s: 0 }], 0, { version: 2 }), 0, LINUX)).toThrow(/version 2 is not 1/);
    const many = Array.from({ length: 101 }, (_, i) => ({ p: `f${i}`, s: 0 }));
    expect(() => parseManifest(raw(many, 0), 0, LINUX)).toThrow(/101 entries are over this machine's limit of 100/);
    expect(() => parseManifest(Buffer.from('{"version":1}'), 0, LINUX)).toThrow(/no entry list/);
  });

  it('refuses names that differ only in case or accents where the file system folds them (macOS), and allows them where not', () => {
    const clash = raw([{ p: 'Readme', s: 0 }, { p: 'README', s: 0 }], 0);
    expect(() => parseManifest(clash, 0, MACOS)).toThrow(/entry 2 "README": another entry has the same name but for case or accents/);
    expect(parseManifest(clash, 0, LINUX).count).toBe(2);
    // NFC é against NFD e + combining acute: one name on APFS.
    const accents = raw([{ p: 'caf\u00e9', s: 0 }, { p: 'cafe\u0301', s: 0 }], 0);
    expect(() => parseManifest(accents, 0, MACOS)).toThrow(/same name but for case or accents/);
  });
});
