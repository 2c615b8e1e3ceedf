import { randomBytes } from 'node:crypto';
import sodium from 'sodium-native';
import { describe, expect, it } from 'vitest';
import {
  BINARY_MIME,
  TEXT_MIME,
  contentId,
  guessMime,
  isNewer,
  isText,
  metaOf,
  sameContent,
  type ClipMeta,
} from '../../../src/sync/clip.js';
import { StreamingHash } from '../../../src/content/content-hash.js';

function blake2b256(data: Buffer): string {
  const out = Buffer.alloc(32);
  sodium.crypto_generichash(out, data);
  return out.toString('hex');
}

function meta(ts: number, origin: string, id = 'aa'): ClipMeta {
  return { id, mime: TEXT_MIME, size: 1, ts, origin };
}

describe('contentId', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('hello, clipboard')],
    ['binary', randomBytes(4096)],
    ['large', randomBytes(1 << 20)],
  ])('is the BLAKE2b-256 hex of %s data', (_what, data) => {
    const id = contentId(data);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(id).toBe(blake2b256(data));
  });

  it('matches the BLAKE2b-256 test vector for the empty input', () => {
    expect(contentId(Buffer.alloc(0))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
  });

  it('differs for data that differs by one bit', () => {
    const a = Buffer.from('clip');
    const b = Buffer.from(a);
    b[0]! ^= 1;
    expect(contentId(a)).not.toBe(contentId(b));
  });

  it('agrees with StreamingHash fed in chunks', () => {
    const data = randomBytes(10_000);
    const streaming = new StreamingHash();
    for (let i = 0; i < data.length; i += 777) streaming.update(data.subarray(i, i + 777));
    expect(streaming.digest().toString('hex')).toBe(contentId(data));
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

  it('sameContent compares id and mime', () => {
    const a = { id: 'x', mime: TEXT_MIME };
    expect(sameContent(a, { id: 'x', mime: TEXT_MIME })).toBe(true);
    expect(sameContent(a, { id: 'x', mime: BINARY_MIME })).toBe(false);
    expect(sameContent(a, { id: 'y', mime: TEXT_MIME })).toBe(false);
    expect(sameContent(a, undefined)).toBe(false);
  });

  it('metaOf drops the data and any extra fields', () => {
    const clip = { ...meta(9, 'o', 'id'), data: Buffer.from('x'), extra: 1 };
    expect(metaOf(clip)).toEqual({ id: 'id', mime: TEXT_MIME, size: 1, ts: 9, origin: 'o' });
  });
});
