import { randomBytes } from 'node:crypto';
import { Blake3Hasher, blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import {
  BINARY_MIME,
  TEXT_MIME,
  assembleClip,
  canonicalFormats,
  clipId,
  findFormat,
  formatOffsets,
  formatsTrailer,
  guessMime,
  isNewer,
  isText,
  isValidMime,
  mainFormat,
  metaOf,
  sameContent,
  type ClipFormat,
  type ClipMeta,
} from '../../../src/sync/clip.js';
import { ID_CONTEXT, LeafHasher, rootId } from '../../../src/content/content-hash.js';

/**
 * The id as docs/PROTOCOL.md §5.1 spells it, computed here with the BLAKE3 binding directly:
 * BLAKE3 of each 1 MiB leaf, then BLAKE3 derive-key over the leaf hashes and the trailer.
 */
function specId(body: Buffer, trailer: Buffer): string {
  const leaves: Buffer[] = [];
  for (let at = 0; at < body.length || leaves.length === 0; at += 1 << 20) leaves.push(blake3(body.subarray(at, at + (1 << 20))));
  return Blake3Hasher.newDeriveKey(ID_CONTEXT).update(Buffer.concat([...leaves, trailer])).digestBuffer().toString('hex');
}

/** The trailer as docs/PROTOCOL.md §5.1 spells it, built independently of formatsTrailer. */
function specTrailer(formats: ClipFormat[]): Buffer {
  const json = Buffer.from(JSON.stringify(formats.map((f) => [f.mime, f.size])));
  return Buffer.concat([json, Buffer.from([json.length >>> 24, (json.length >>> 16) & 0xff, (json.length >>> 8) & 0xff, json.length & 0xff])]);
}

function meta(ts: number, origin: string, id = 'aa'): ClipMeta {
  return { id, formats: [{ mime: TEXT_MIME, size: 1 }], mime: TEXT_MIME, size: 1, ts, origin };
}

const text = (size: number): ClipFormat => ({ mime: TEXT_MIME, size });

describe('canonicalFormats', () => {
  it('sorts by type in byte order (upper case before lower, ";" after letters)', () => {
    const sorted = canonicalFormats([{ mime: 'text/plain;charset=utf-8' }, { mime: 'image/png' }, { mime: 'text/html' }, { mime: 'Text/Z' }, { mime: 'text/plain' }]);
    expect(sorted.map((f) => f.mime)).toEqual(['Text/Z', 'image/png', 'text/html', 'text/plain', 'text/plain;charset=utf-8']);
  });

  it('keeps the first of a type given twice, drops the rest, and leaves its input alone', () => {
    const input = [
      { mime: 'text/html', size: 1 },
      { mime: 'image/png', size: 2 },
      { mime: 'text/html', size: 3 },
    ];
    expect(canonicalFormats(input)).toEqual([
      { mime: 'image/png', size: 2 },
      { mime: 'text/html', size: 1 },
    ]);
    expect(input.map((f) => f.size)).toEqual([1, 2, 3]);
  });

  it('returns the same objects (extra fields kept)', () => {
    const png = { mime: 'image/png', data: Buffer.from('x') };
    expect(canonicalFormats([png])[0]).toBe(png);
  });
});

describe('formatsTrailer', () => {
  it('is the UTF-8 JSON [[mime, size], …] then its length as 4 bytes big-endian (docs/PROTOCOL.md §5.1)', () => {
    const trailer = formatsTrailer([
      { mime: 'text/html', size: 120 },
      { mime: 'text/plain;charset=utf-8', size: 11 },
    ]);
    const json = '[["text/html",120],["text/plain;charset=utf-8",11]]';
    expect(json).toHaveLength(51);
    expect(trailer.equals(Buffer.concat([Buffer.from(json, 'utf8'), Buffer.from([0x00, 0x00, 0x00, 0x33])]))).toBe(true);
  });

  it('is written with no spaces and a single format as a one-element list', () => {
    expect(formatsTrailer([{ mime: 'image/png', size: 0 }]).toString('latin1')).toBe('[["image/png",0]]\x00\x00\x00\x11');
  });

  it('counts the length in bytes, not characters, for a type with non-ASCII parameters', () => {
    const mime = 'text/plain;name=café';
    const trailer = formatsTrailer([{ mime, size: 3 }]);
    const jsonBytes = Buffer.byteLength(JSON.stringify([[mime, 3]]), 'utf8');
    expect(jsonBytes).toBe(JSON.stringify([[mime, 3]]).length + 1);
    expect(trailer.readUInt32BE(trailer.length - 4)).toBe(jsonBytes);
    expect(trailer).toHaveLength(jsonBytes + 4);
    expect(trailer.equals(specTrailer([{ mime, size: 3 }]))).toBe(true);
  });

  it('carries only mime and size, whatever else a format has', () => {
    const withExtra = [{ mime: 'image/png', size: 4, data: Buffer.from('abcd') }];
    expect(formatsTrailer(withExtra).equals(formatsTrailer([{ mime: 'image/png', size: 4 }]))).toBe(true);
  });
});

describe('clipId', () => {
  const body = Buffer.from('<b>hi</b>hello there');
  const formats = [
    { mime: 'text/html', size: 9 },
    { mime: TEXT_MIME, size: 11 },
  ];

  it.each([
    ['one text format', [text(16)], Buffer.from('hello, clipboard')],
    ['an empty body', [text(0)], Buffer.alloc(0)],
    ['two formats', formats, body],
    ['a large binary body', [{ mime: 'image/png', size: 1 << 20 }], randomBytes(1 << 20)],
    ['a body of several leaves, the last one partial', [{ mime: 'image/png', size: (5 << 20) + 3 }], randomBytes((5 << 20) + 3)],
    ['a body of exactly two leaves', [{ mime: 'image/png', size: 2 << 20 }], randomBytes(2 << 20)],
  ])('is the derive-key root of the BLAKE3 leaf hashes and the trailer, in lowercase hex, for %s', (_what, f, data) => {
    const id = clipId(f, data);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(id).toBe(specId(data, specTrailer(f)));
  });

  it('is not the hash of the bytes alone (the formats count)', () => {
    expect(clipId([text(3)], Buffer.from('abc'))).not.toBe(specId(Buffer.from('abc'), Buffer.alloc(0)));
    expect(clipId([text(3)], Buffer.from('abc'))).not.toBe(blake3(Buffer.from('abc')).toString('hex'));
  });

  it('differs when only a type differs', () => {
    const data = Buffer.from('same bytes');
    expect(clipId([text(10)], data)).not.toBe(clipId([{ mime: 'text/plain', size: 10 }], data));
    expect(clipId([text(10)], data)).not.toBe(clipId([{ mime: BINARY_MIME, size: 10 }], data));
  });

  it('differs when only the split between formats differs', () => {
    expect(clipId(formats, body)).not.toBe(
      clipId(
        [
          { mime: 'text/html', size: 10 },
          { mime: TEXT_MIME, size: 10 },
        ],
        body,
      ),
    );
  });

  it('differs for bytes that differ by one bit', () => {
    const a = Buffer.from('clip');
    const b = Buffer.from(a);
    b[0]! ^= 1;
    expect(clipId([text(4)], a)).not.toBe(clipId([text(4)], b));
  });

  it('agrees with LeafHasher fed the body in chunks and then rootId with the trailer (as the spool does)', () => {
    const data = randomBytes((3 << 20) + 12_345);
    const f = [{ mime: BINARY_MIME, size: data.length }];
    const streaming = new LeafHasher();
    for (let i = 0; i < data.length; i += 777_777) streaming.update(data.subarray(i, i + 777_777));
    expect(rootId(streaming.finish(), formatsTrailer(f))).toBe(clipId(f, data));
  });
});

describe('mainFormat', () => {
  const f = (...mimes: string[]): ClipFormat[] => mimes.map((mime) => ({ mime, size: 1 }));

  it.each<[string, ClipFormat[], string]>([
    ['UTF-8 text over any other', f('text/html', 'text/plain', TEXT_MIME), TEXT_MIME],
    ['else the first text/plain…', f('image/png', 'text/html', 'text/plain;charset=latin1', 'text/plain'), 'text/plain;charset=latin1'],
    ['else the first text/…', f('image/png', 'text/rtf', 'text/html'), 'text/rtf'],
    ['else the first format', f('image/png', 'image/jpeg'), 'image/png'],
    ['a single format', f(BINARY_MIME), BINARY_MIME],
  ])('picks %s', (_what, formats, expected) => {
    expect(mainFormat(formats).mime).toBe(expected);
  });

  it('returns the format itself (its size with it)', () => {
    const formats = [
      { mime: 'image/png', size: 7 },
      { mime: TEXT_MIME, size: 3 },
    ];
    expect(mainFormat(formats)).toBe(formats[1]);
  });
});

describe('findFormat', () => {
  const formats = [
    { mime: 'image/png', size: 4 },
    { mime: 'text/html', size: 5 },
    { mime: TEXT_MIME, size: 6 },
  ];

  it('finds a type exactly, ignoring case', () => {
    expect(findFormat(formats, 'text/html')).toBe(formats[1]);
    expect(findFormat(formats, 'IMAGE/PNG')).toBe(formats[0]);
    expect(findFormat(formats, 'Text/Plain;Charset=UTF-8')).toBe(formats[2]);
  });

  it('matches a type without parameters to one with them (text/plain → text/plain;charset=utf-8)', () => {
    expect(findFormat(formats, 'text/plain')).toBe(formats[2]);
  });

  it('does not match a type with other parameters, nor one that is absent', () => {
    expect(findFormat(formats, 'text/plain;charset=latin1')).toBeUndefined();
    expect(findFormat(formats, 'image/jpeg')).toBeUndefined();
    expect(findFormat(formats, 'text/htm')).toBeUndefined();
  });

  it('prefers an exact match over a parameter-less one', () => {
    const both = [
      { mime: 'text/plain', size: 1 },
      { mime: TEXT_MIME, size: 2 },
    ];
    expect(findFormat([...both].reverse(), 'text/plain')).toBe(both[0]);
  });
});

describe('assembleClip', () => {
  it('orders the parts by type, concatenates their bytes in that order, and names them with clipId', () => {
    const plain = Buffer.from('hello');
    const html = Buffer.from('<p>hello</p>');
    const clip = assembleClip([
      { mime: TEXT_MIME, data: plain },
      { mime: 'text/html', data: html },
    ]);
    const formats = [
      { mime: 'text/html', size: html.length },
      { mime: TEXT_MIME, size: plain.length },
    ];
    expect(clip.formats).toEqual(formats);
    expect(clip.data.equals(Buffer.concat([html, plain]))).toBe(true);
    expect(clip.size).toBe(html.length + plain.length);
    expect(clip.mime).toBe(TEXT_MIME);
    expect(clip.id).toBe(specId(Buffer.concat([html, plain]), specTrailer(formats)));
  });

  it('gives the same id whatever order the parts came in', () => {
    const parts = [
      { mime: 'image/png', data: Buffer.from([1, 2, 3]) },
      { mime: 'text/html', data: Buffer.from('<img>') },
      { mime: 'text/uri-list', data: Buffer.from('file:///x') },
    ];
    expect(assembleClip([...parts].reverse()).id).toBe(assembleClip(parts).id);
  });

  it('keeps the first of a type given twice', () => {
    const clip = assembleClip([
      { mime: 'text/html', data: Buffer.from('first') },
      { mime: 'text/html', data: Buffer.from('second!') },
    ]);
    expect(clip.formats).toEqual([{ mime: 'text/html', size: 5 }]);
    expect(clip.data.toString()).toBe('first');
  });

  it('for one part, is that part whole', () => {
    const data = Buffer.from([0xff, 0x00]);
    const clip = assembleClip([{ mime: BINARY_MIME, data }]);
    expect(clip).toEqual({ id: clipId([{ mime: BINARY_MIME, size: 2 }], data), leaves: blake3(data), formats: [{ mime: BINARY_MIME, size: 2 }], mime: BINARY_MIME, size: 2, data });
  });

  it('lays each format at its offset (formatOffsets)', () => {
    const clip = assembleClip([
      { mime: 'b/b', data: Buffer.from('BB') },
      { mime: 'a/a', data: Buffer.from('A') },
      { mime: 'c/c', data: Buffer.from('CCC') },
    ]);
    expect(formatOffsets(clip.formats)).toEqual([0, 1, 3]);
    expect(clip.data.toString()).toBe('ABBCCC');
  });
});

describe('isValidMime', () => {
  it.each(['text/plain', 'text/plain;charset=utf-8', 'text/plain ; charset=utf-8', 'image/svg+xml', 'application/x-kde.hint'])('accepts %s', (mime) => {
    expect(isValidMime(mime)).toBe(true);
  });

  it.each([
    ['no subtype', 'text'],
    ['a space in the type', 'text /plain'],
    ['a newline in the parameters', 'text/plain;a=b\nc'],
    ['a NUL', 'text/plain;\0'],
    ['DEL', 'text/plain;\x7f'],
    ['a tab before the ";"', 'text/plain\t;a=b'],
    ['over 255 characters', `text/${'x'.repeat(251)}`],
  ])('refuses %s', (_what, mime) => {
    expect(isValidMime(mime)).toBe(false);
  });

  it('allows exactly 255 characters', () => {
    expect(isValidMime(`text/${'x'.repeat(250)}`)).toBe(true);
  });
});

describe('isNewer', () => {
  it('anything is newer than nothing', () => {
    expect(isNewer(meta(0, ''), undefined)).toBe(true);
  });

  it('orders by timestamp first', () => {
    expect(isNewer(meta(2, 'SHA256:a'), meta(1, 'SHA256:z'))).toBe(true);
    expect(isNewer(meta(1, 'SHA256:z'), meta(2, 'SHA256:a'))).toBe(false);
  });

  it('breaks exact ties by origin fingerprint, the same way from both sides', () => {
    const a = meta(5, 'SHA256:AAA');
    const b = meta(5, 'SHA256:BBB');
    expect(isNewer(b, a)).toBe(true);
    expect(isNewer(a, b)).toBe(false);
  });

  it('the same clip is not newer than itself', () => {
    const a = meta(5, 'SHA256:AAA');
    expect(isNewer(a, a)).toBe(false);
    expect(isNewer({ ...a, id: 'other' }, a)).toBe(false);
  });

  it('is a strict total order over distinct (ts, origin) pairs', () => {
    const metas = [meta(1, 'b'), meta(1, 'a'), meta(3, 'a'), meta(2, 'c'), meta(2, 'b')];
    for (const x of metas) {
      for (const y of metas) {
        if (x === y) continue;
        expect(isNewer(x, y)).toBe(!isNewer(y, x));
      }
    }
  });
});

describe('guessMime', () => {
  it.each([
    ['ASCII', Buffer.from('plain text')],
    ['empty', Buffer.alloc(0)],
    ['multi-byte UTF-8', Buffer.from('naïve café — 日本語 💻')],
    ['a NUL byte (still valid UTF-8)', Buffer.from([0x61, 0x00, 0x62])],
  ])('calls %s text', (_what, data) => {
    expect(guessMime(data)).toBe(TEXT_MIME);
  });

  it.each([
    ['a lone 0xff', Buffer.from([0xff])],
    ['a truncated sequence', Buffer.from([0x61, 0xe2, 0x82])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['a PNG header', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ])('calls %s binary', (_what, data) => {
    expect(guessMime(data)).toBe(BINARY_MIME);
  });
});

describe('helpers', () => {
  it('isText', () => {
    expect(isText(TEXT_MIME)).toBe(true);
    expect(isText('text/html')).toBe(true);
    expect(isText(BINARY_MIME)).toBe(false);
    expect(isText('image/png')).toBe(false);
  });

  it('sameContent compares ids (the id covers every type and byte)', () => {
    const a = { id: 'x' };
    expect(sameContent(a, { id: 'x' })).toBe(true);
    expect(sameContent(a, { id: 'y' })).toBe(false);
    expect(sameContent(a, undefined)).toBe(false);
  });

  it('metaOf drops the data and any extra fields', () => {
    const clip = { ...meta(9, 'o', 'id'), data: Buffer.from('x'), extra: 1 };
    expect(metaOf(clip)).toEqual({ id: 'id', formats: [{ mime: TEXT_MIME, size: 1 }], mime: TEXT_MIME, size: 1, ts: 9, origin: 'o' });
    expect(Object.keys(metaOf(clip))).toEqual(['id', 'formats', 'mime', 'size', 'ts', 'origin']);
  });
});
