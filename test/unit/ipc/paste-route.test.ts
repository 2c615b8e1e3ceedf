import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '../../../src/ipc/client.js';
import { CLIP_HEADERS } from '../../../src/ipc/schema.js';
import { contentId, TEXT_MIME } from '../../../src/sync/clip.js';
import { errorBody, errorOf, fakeDaemon, startControlApi, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const paste = (query: Record<string, string> = {}) => ({ method: 'GET' as const, path: '/v1/paste', query });

function memoryClip(text: string, mime = TEXT_MIME) {
  const data = Buffer.from(text);
  return { id: contentId(data), mime, size: data.length, ts: 5, origin: 'SHA256:origin', data };
}

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

  it('reads the system clipboard first, so a copy made a moment ago counts', async () => {
    const fake = fakeDaemon();
    let polls = 0;
    fake.view.watcher = {
      pollNow: async () => {
        polls += 1;
        fake.sync.clip = memoryClip('just copied');
      },
    };
    api = await startControlApi(fake.view);
    expect((await collect(await api.client.open(paste()))).toString()).toBe('just copied');
    expect(polls).toBe(1);
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
      expect(err.hint).toBeUndefined();
    }
  });

  it('streams a spooled clip from its file', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const data = Buffer.alloc(300_000, 0x5a);
    const file = join(api.dir, 'spooled');
    writeFileSync(file, data);
    fake.sync.clip = { id: contentId(data), mime: 'application/octet-stream', size: data.length, ts: 9, origin: 'SHA256:origin', file };
    const res = await api.client.open(paste());
    expect(res.headers['content-length']).toBe(String(data.length));
    expect(res.headers[CLIP_HEADERS.id]).toBe(contentId(data));
    expect((await collect(res)).equals(data)).toBe(true);
  });

  it('is CLIPSYNC_ERR_SPOOL (500), with a hint, when the spooled file has vanished', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const file = join(api.dir, 'gone');
    fake.sync.clip = { id: 'ab'.repeat(32), mime: 'image/png', size: 10, ts: 9, origin: 'SHA256:origin', file };
    const err = await errorOf(api.client.open(paste()));
    expect(err.code).toBe('CLIPSYNC_ERR_SPOOL');
    expect(err.message).toMatch(/^the spooled clip cannot be read: ENOENT/);
    expect(err.hint).toBe('copy it again');
    expect((await api.raw('GET', '/v1/paste')).status).toBe(500);
  });
});
