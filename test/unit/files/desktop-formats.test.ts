import { describe, expect, it } from 'vitest';
import { fileListFormats, localFileList } from '../../../src/files/desktop-formats.js';

const b = (text: string) => Buffer.from(text, 'utf8');

describe('desktop file lists', () => {
  it('offers local paths as text/uri-list, GNOME copied files and text', () => {
    const formats = fileListFormats(['/home/me/a b.txt', '/home/me/日本']);
    expect(formats.map((f) => [f.mime, f.data.toString()])).toEqual([
      ['text/uri-list', 'file:///home/me/a%20b.txt\r\nfile:///home/me/%E6%97%A5%E6%9C%AC\r\n'],
      ['x-special/gnome-copied-files', 'copy\nfile:///home/me/a%20b.txt\nfile:///home/me/%E6%97%A5%E6%9C%AC'],
      ['text/plain;charset=utf-8', '/home/me/a b.txt\n/home/me/日本'],
    ]);
    expect(localFileList(formats)).toEqual({ paths: ['/home/me/a b.txt', '/home/me/日本'], cut: false });
  });

  it('reads what Nautilus, Dolphin and GTK apps offer, cut or copied', () => {
    expect(localFileList([{ mime: 'x-special/gnome-copied-files', data: b('cut\nfile:///tmp/x') }])).toEqual({ paths: ['/tmp/x'], cut: true });
    expect(localFileList([{ mime: 'text/uri-list', data: b('# comment\r\nfile://localhost/tmp/y\r\n') }, { mime: 'application/x-kde-cutselection', data: b('1') }])).toEqual({ paths: ['/tmp/y'], cut: true });
    expect(localFileList([{ mime: 'text/uri-list', data: b('file:///tmp/z\n\u0000') }])).toEqual({ paths: ['/tmp/z'], cut: false });
  });

  it('is not a file copy when any URI is not a local file (a link from a browser travels as text)', () => {
    expect(localFileList([{ mime: 'text/uri-list', data: b('https://example.com/\r\n') }])).toBeUndefined();
    expect(localFileList([{ mime: 'text/uri-list', data: b('file:///tmp/a\r\nhttps://x/\r\n') }])).toBeUndefined();
    expect(localFileList([{ mime: 'text/uri-list', data: b('file://otherhost/tmp/a') }])).toBeUndefined();
    expect(localFileList([{ mime: 'text/plain;charset=utf-8', data: b('/tmp/a') }])).toBeUndefined();
    expect(localFileList([{ mime: 'text/uri-list', data: b('\r\n') }])).toBeUndefined();
  });
});
