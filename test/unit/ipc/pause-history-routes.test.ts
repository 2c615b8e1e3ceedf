import { afterEach, describe, expect, it } from 'vitest';
import { assembleClip } from '../../../src/sync/clip.js';
import { ClipHistory, type HistoryItem } from '../../../src/sync/clip-history.js';
import { PauseState } from '../../../src/sync/pause-state.js';
import { captureLog } from '../_support/logger.js';
import { errorBody, errorOf, fakeDaemon, startControlApi, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('POST /v1/pause and /v1/resume', () => {
  it('pauses until resumed, or for SEC seconds (fractions allowed)', async () => {
    const pause = new PauseState();
    api = await startControlApi(fakeDaemon({ pause }).view);
    const open = await api.client.json<{ paused: { since: string; until: string | null } }>({ method: 'POST', path: '/v1/pause' });
    expect(open.paused.until).toBeNull();
    const timed = await api.client.json<{ paused: { since: string; until: string } }>({ method: 'POST', path: '/v1/pause', query: { for: '2.5' } });
    expect(timed.paused.since).toBe(open.paused.since);
    expect(Date.parse(timed.paused.until) - Date.now()).toBeGreaterThan(0);
    expect(await api.client.json({ method: 'POST', path: '/v1/resume' })).toEqual({ paused: null });
    expect(await api.client.json({ method: 'POST', path: '/v1/resume' })).toEqual({ paused: null });
    expect(pause.paused).toBe(false);
  });

  it.each(['0', '-5', 'abc', '', 'Infinity'])('answers 400 for ?for=%j and stays unpaused', async (value) => {
    const pause = new PauseState();
    api = await startControlApi(fakeDaemon({ pause }).view);
    const raw = await api.raw('POST', `/v1/pause?for=${encodeURIComponent(value)}`);
    expect(raw.status).toBe(400);
    expect(errorBody(raw).code).toBe('CLIPSYNC_ERR_USAGE');
    expect(pause.paused).toBe(false);
  });
});

describe('history routes', () => {
  it('lists, gets and clears the history', async () => {
    const history = new ClipHistory(10, undefined, captureLog().log);
    const fake = fakeDaemon({ history });
    for (const [i, text] of ['one', 'two'].entries()) history.record({ ...assembleClip([{ mime: 'text/plain;charset=utf-8', data: Buffer.from(text) }]), ts: i + 1, origin: 'SHA256:me' }, null);
    api = await startControlApi(fake.view);
    const list = await api.client.json<HistoryItem[]>({ method: 'GET', path: '/v1/history' });
    expect(list.map((h) => [h.n, h.preview, h.local, h.originName])).toEqual([
      [1, 'two', true, null],
      [2, 'one', true, null],
    ]);
    expect(Object.keys(list[0]!).sort()).toEqual(['copiedAt', 'formats', 'id', 'local', 'mime', 'n', 'origin', 'originName', 'preview', 'size', 'ts']);
    // The fake engine does not report clips to the history: the entry keeps its place.
    const got = await api.client.json<HistoryItem>({ method: 'POST', path: '/v1/history/get', query: { n: '2' } });
    expect(got).toMatchObject({ preview: 'one' });
    expect(fake.sync.copies.at(-1)).toMatchObject({ source: 'cli', body: { data: Buffer.from('one') } });
    expect(await api.client.json({ method: 'POST', path: '/v1/history/clear' })).toEqual({ cleared: 2 });
  });

  it('answers 404 NO_SUCH_CLIP for an entry it does not have, and 400 for a number that is not one', async () => {
    api = await startControlApi(fakeDaemon({ history: new ClipHistory(10, undefined, captureLog().log) }).view);
    const missing = await api.raw('POST', '/v1/history/get?n=3');
    expect(missing.status).toBe(404);
    expect(errorBody(missing)).toMatchObject({ code: 'CLIPSYNC_ERR_NO_SUCH_CLIP', message: 'the history is empty' });
    for (const n of ['0', 'x', '1.5', '']) {
      const err = await errorOf(api.client.json({ method: 'POST', path: '/v1/history/get', query: { n } }));
      expect(err.code, n).toBe('CLIPSYNC_ERR_USAGE');
    }
  });
});
