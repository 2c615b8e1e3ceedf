import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '../../../src/ipc/client.js';
import { CLIP_HEADERS } from '../../../src/ipc/schema.js';
import { assembleClip, clipId, TEXT_MIME } from '../../../src/sync/clip.js';
import type { PasteListResponse } from '../../../src/ipc/schema.js';
import { errorBody, errorOf, fakeDaemon, startControlApi, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const paste = (query: Record<string, string> = {}) => ({ method: 'GET' as const, path: '/v1/paste', query });

function memoryClip(text: string, mime = TEXT_MIME) {
  return multiClip([{ mime, data: Buffer.from(text) }]);
}

/** A clip of several formats in memory, as the watcher or a peer makes it. */
function multiClip(parts: { mime: string; data: Buffer }[]) {
  return { ...assembleClip(parts), ts: 5, origin: 'SHA256:origin' };
}

/** A browser copy: HTML, plain text and an image; the body is html ‖ png ‖ text (sorted by type: image/png first). */
const browser = () =>
  multiClip([
    { mime: 'text/html', data: Buffer.from('<b>hi</b>') },
    { mime: TEXT_MIME, data: Buffer.from('hi') },
    { mime: 'image/png', data: Buffer.from([0x89, 0x50, 0x4e, 0x47]) },
  ]);

describe('GET /v1/paste', () => {
  it('is CLIPSYNC_ERR_NOTHING_TO_PASTE (404) with a hint while there is no clip', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const err = await errorOf(api.client.open(paste()));
    expect(err.code).toBe('CLIPSYNC_ERR_NOTHING_TO_PASTE');
    expect(err.message).toBe('there is nothing to paste yet');
    expect(err.hint).toBe('copy something on this machine or on a connected peer first');
    expect(err.exitCode).toBe(4);
    const raw = await api.raw('GET', '/v1/paste');
    expect(raw.status).toBe(404);
    expect(errorBody(raw)).toEqual(err.toJSON());
  });

  it('answers the bytes of an in-memory clip with its metadata in headers', async () => {
    const fake = fakeDaemon();
    const clip = memoryClip('hello');
    fake.sync.clip = clip;
    api = await startControlApi(fake.view);
    const res = await api.client.open(paste());
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-length']).toBe('5');
    expect(res.headers[CLIP_HEADERS.id]).toBe(clip.id);
    expect(res.headers[CLIP_HEADERS.mime]).toBe(TEXT_MIME);
    expect(res.headers[CLIP_HEADERS.origin]).toBe('SHA256:origin');
    expect((await collect(res)).toString()).toBe('hello');
  });

  it('reads the clipboard fresh and waits for the watcher to settle first, so a copy made a moment ago counts', async () => {
    const fake = fakeDaemon();
    const waits: (boolean | undefined)[] = [];
    fake.view.watcher = {
      settled: async (fresh) => {
        waits.push(fresh);
        fake.sync.clip = memoryClip('just copied');
      },
    };
    api = await startControlApi(fake.view);
    expect((await collect(await api.client.open(paste()))).toString()).toBe('just copied');
    expect(waits).toEqual([true]);
    expect(await api.client.json<PasteListResponse>(paste({ list: '1' }))).toMatchObject({ size: 11 });
    expect(waits).toEqual([true, true]);
  });

  it('answers only a clip of the wanted type: base types compared without parameters, whole strings with', async () => {
    const fake = fakeDaemon();
    fake.sync.clip = memoryClip('hello');
    api = await startControlApi(fake.view);
    for (const mime of ['text/plain', 'TEXT/Plain', 'text/plain;charset=utf-8', 'Text/Plain;Charset=UTF-8']) {
      expect((await collect(await api.client.open(paste({ mime })))).toString()).toBe('hello');
    }
    for (const mime of ['image/png', 'text/plain;charset=latin1', 'text/html']) {
      const err = await errorOf(api.client.open(paste({ mime })));
      expect(err.code).toBe('CLIPSYNC_ERR_NOTHING_TO_PASTE');
      expect(err.message).toBe(`the clipboard holds ${TEXT_MIME}, not ${mime}`);
      expect(err.hint).toBe('clipsync paste --list shows the formats of the current clip');
    }
  });

  it('gives the main format by default (text when there is text), and each format with ?mime=', async () => {
    const fake = fakeDaemon();
    const clip = browser();
    fake.sync.clip = clip;
    api = await startControlApi(fake.view);
    const main = await api.client.open(paste());
    expect(main.headers[CLIP_HEADERS.mime]).toBe(TEXT_MIME);
    expect(main.headers['content-length']).toBe('2');
    expect(main.headers[CLIP_HEADERS.id]).toBe(clip.id);
    expect((await collect(main)).toString()).toBe('hi');
    for (const [mime, expected] of [
      ['text/html', Buffer.from('<b>hi</b>')],
      ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47])],
      ['text/plain', Buffer.from('hi')],
    ] as const) {
      const res = await api.client.open(paste({ mime }));
      expect(res.headers['content-length']).toBe(String(expected.length));
      expect(res.headers[CLIP_HEADERS.id]).toBe(clip.id);
      expect((await collect(res)).equals(expected)).toBe(true);
    }
    const err = await errorOf(api.client.open(paste({ mime: 'image/jpeg' })));
    expect(err.code).toBe('CLIPSYNC_ERR_NOTHING_TO_PASTE');
    expect(err.message).toBe(`the clipboard holds image/png, text/html, ${TEXT_MIME}, not image/jpeg`);
  });

  it('with ?list=1, answers the formats of the current clip as JSON', async () => {
    const fake = fakeDaemon();
    const clip = browser();
    fake.sync.clip = clip;
    api = await startControlApi(fake.view);
    expect(await api.client.json<PasteListResponse>(paste({ list: '1' }))).toEqual({
      id: clip.id,
      origin: 'SHA256:origin',
      mime: TEXT_MIME,
      size: 15,
      local: true,
      formats: [
        { mime: 'image/png', size: 4 },
        { mime: 'text/html', size: 9 },
        { mime: TEXT_MIME, size: 2 },
      ],
    });
  });

  it('gives a format with no bytes as an empty answer', async () => {
    const fake = fakeDaemon();
    fake.sync.clip = multiClip([
      { mime: 'text/html', data: Buffer.alloc(0) },
      { mime: TEXT_MIME, data: Buffer.from('x') },
    ]);
    api = await startControlApi(fake.view);
    const res = await api.client.open(paste({ mime: 'text/html' }));
    expect(res.headers['content-length']).toBe('0');
    expect((await collect(res)).length).toBe(0);
  });

  it('streams a spooled clip from its file', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const data = Buffer.alloc(300_000, 0x5a);
    const file = join(api.dir, 'spooled');
    writeFileSync(file, data);
    const formats = [{ mime: 'application/octet-stream', size: data.length }];
    fake.sync.clip = { id: clipId(formats, data), formats, mime: 'application/octet-stream', size: data.length, ts: 9, origin: 'SHA256:origin', file };
    const res = await api.client.open(paste());
    expect(res.headers['content-length']).toBe(String(data.length));
    expect(res.headers[CLIP_HEADERS.id]).toBe(clipId(formats, data));
    expect((await collect(res)).equals(data)).toBe(true);
  });

  it('streams one format of a spooled clip from its range of the file', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const html = Buffer.alloc(200_000, 0x68);
    const png = Buffer.alloc(150_000, 0x70);
    const text = Buffer.alloc(100_001, 0x74);
    const { data, ...clip } = multiClip([
      { mime: TEXT_MIME, data: text },
      { mime: 'text/html', data: html },
      { mime: 'image/png', data: png },
    ]);
    const file = join(api.dir, 'spooled-formats');
    writeFileSync(file, data);
    fake.sync.clip = { ...clip, file };
    for (const [mime, expected] of [
      [undefined, text],
      ['image/png', png],
      ['text/html', html],
    ] as const) {
      const res = await api.client.open(paste(mime === undefined ? {} : { mime }));
      expect(res.headers['content-length']).toBe(String(expected.length));
      expect(res.headers[CLIP_HEADERS.mime]).toBe(mime ?? TEXT_MIME);
      expect((await collect(res)).equals(expected)).toBe(true);
    }
  });

  it('is CLIPSYNC_ERR_SPOOL (500), with a hint, when the spooled file has vanished', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const file = join(api.dir, 'gone');
    fake.sync.clip = { id: 'ab'.repeat(32), formats: [{ mime: 'image/png', size: 10 }], mime: 'image/png', size: 10, ts: 9, origin: 'SHA256:origin', file };
    const err = await errorOf(api.client.open(paste()));
    expect(err.code).toBe('CLIPSYNC_ERR_SPOOL');
    expect(err.message).toMatch(/^the spooled clip cannot be read: ENOENT/);
    expect(err.hint).toBe('copy it again');
    expect((await api.raw('GET', '/v1/paste')).status).toBe(500);
  });
});
