import { describe, expect, it } from 'vitest';
import { ClipHistory, previewOf } from '../../../src/sync/clip-history.js';
import { assembleClip, type Clip } from '../../../src/sync/clip.js';
import { captureLog } from '../_support/logger.js';

let ts = 0;
function textClip(text: string, mime = 'text/plain;charset=utf-8'): Clip {
  return { ...assembleClip([{ mime, data: Buffer.from(text) }]), ts: ++ts, origin: 'SHA256:me' };
}

describe('ClipHistory', () => {
  it('keeps the last N newest first, without duplicates, and tells listeners', () => {
    const history = new ClipHistory(2, undefined, captureLog().log);
    let changes = 0;
    history.onChange(() => changes++);
    history.record(textClip('a'), null);
    const b = textClip('b');
    history.record(b, 'laptop');
    history.record(textClip('c'), null);
    expect(history.list().map((h) => h.preview)).toEqual(['c', 'b']);
    history.record({ ...b, ts: ++ts }, null); // the same content again moves to the front, keeping its origin name
    expect(history.list().map((h) => [h.n, h.preview, h.originName])).toEqual([
      [1, 'b', 'laptop'],
      [2, 'c', null],
    ]);
    history.resize(1);
    expect(history.list()).toHaveLength(1);
    expect(history.clear()).toBe(1);
    expect(history.entry(1)).toBeUndefined();
    expect(changes).toBe(6);
  });

  it('keeps nothing with size 0, and lists an announced clip as not local with no preview', () => {
    const off = new ClipHistory(0, undefined, captureLog().log);
    off.record(textClip('x'), null);
    expect(off.list()).toEqual([]);
    const history = new ClipHistory(5, undefined, captureLog().log);
    const { data: _data, ...announced } = textClip('far away');
    history.record({ ...announced, from: 'SHA256:peer' }, 'desk');
    expect(history.list()[0]).toMatchObject({ local: false, preview: '', originName: 'desk' });
  });

  it('previews up to 80 characters, whitespace runs collapsed and control characters as ?', () => {
    expect(previewOf('  a\t\tb\r\n\nc \u0007 d\u202e ')).toBe('a b c ? d?');
    expect(previewOf('é'.repeat(100))).toBe('é'.repeat(80));
    expect(previewOf('👋🏽'.repeat(50))).toHaveLength(160); // 80 code points, 2 UTF-16 units each
    expect(new ClipHistory(1, undefined, captureLog().log).list()).toEqual([]);
  });
});
