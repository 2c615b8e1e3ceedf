import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { fail } from '../../../src/core/errors.js';
import type { CopyEvent, CopyResponse } from '../../../src/ipc/schema.js';
import { BINARY_MIME, clipId, clipTree, TEXT_MIME, type ClipFormat } from '../../../src/sync/clip.js';
import { FakeClock } from '../_support/fake-clock.js';
import { waitFor } from '../../helpers/wait.js';
import { errorBody, errorOf, fakeDaemon, pendingDelivery, startControlApi, transfer, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** The id of `data` copied as one format of `mime`. */
const idOf = (data: Buffer, mime: string) => clipId([{ mime, size: data.length }], data);

const copy = (query: Record<string, string> = {}, body: Buffer = Buffer.from('hello')) => ({ method: 'POST' as const, path: '/v1/copy', query, body });

describe('POST /v1/copy', () => {
  it('copies text with the guessed type and answers at once without wait', async () => {
    const fake = fakeDaemon();
    fake.sync.deliveries = [pendingDelivery('SHA256:a', 'a')]; // never answers: not waited for
    api = await startControlApi(fake.view);
    const answer = await api.client.json<CopyResponse>(copy());
    expect(answer).toEqual({ id: idOf(Buffer.from('hello'), TEXT_MIME), mime: TEXT_MIME, size: 5, peers: [] });
    expect(fake.sync.copies).toEqual([{ body: { data: Buffer.from('hello') }, formats: [{ mime: TEXT_MIME, size: 5 }], source: 'cli' }]);
  });

  it('guesses octet-stream for bytes that are not UTF-8, and keeps an explicit type', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const binary = Buffer.from([0, 1, 2, 255]);
    expect((await api.client.json<CopyResponse>(copy({}, binary))).mime).toBe(BINARY_MIME);
    expect((await api.client.json<CopyResponse>(copy({ mime: 'application/x-test' }, binary))).mime).toBe('application/x-test');
    expect((await api.client.json<CopyResponse>(copy({}, Buffer.from([0xe2, 0x82])))).mime).toBe(BINARY_MIME); // cut short
    expect(fake.sync.copies.map((c) => c.formats)).toEqual([[{ mime: BINARY_MIME, size: 4 }], [{ mime: 'application/x-test', size: 4 }], [{ mime: BINARY_MIME, size: 2 }]]);
  });

  it('refuses a malformed media type with CLIPSYNC_ERR_USAGE (400) before reading the body', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const err = await errorOf(api.client.json(copy({ mime: 'nonsense' })));
    expect(err.code).toBe('CLIPSYNC_ERR_USAGE');
    expect(err.message).toBe('"nonsense" is not a media type such as text/plain or image/png');
    const raw = await api.raw('POST', `/v1/copy?mime=${encodeURIComponent('a'.repeat(252) + '/png')}`, Buffer.from('x'));
    expect(raw.status).toBe(400);
    expect(errorBody(raw).code).toBe('CLIPSYNC_ERR_USAGE');
    expect(fake.sync.copies).toEqual([]);
  });

  it('refuses a body over maxClipBytes with CLIPSYNC_ERR_CLIP_TOO_LARGE (413)', async () => {
    const fake = fakeDaemon({ maxClipBytes: 16 });
    api = await startControlApi(fake.view);
    const err = await errorOf(api.client.json(copy({}, Buffer.alloc(17, 0x61))));
    expect(err.code).toBe('CLIPSYNC_ERR_CLIP_TOO_LARGE');
    expect(err.message).toBe('the clip of 17 bytes is larger than the limit of 16 bytes');
    expect(err.hint).toMatch(/maxClipBytes/);
    const raw = await api.raw('POST', '/v1/copy', Buffer.alloc(40, 0x61));
    expect(raw.status).toBe(413);
    expect(fake.sync.copies).toEqual([]);
  });

  /** A daemon whose store writes into the test's directory, naming the file as the spool would (bytes, then the formats named once the size is known). */
  function spooling() {
    const stored: { path: string; formats: ClipFormat[] }[] = [];
    const fake = fakeDaemon({
      spoolThresholdBytes: 8,
      store: {
        storeLocal: async (source: Readable | AsyncIterable<Buffer>, formatsOf: (size: number) => ClipFormat[]) => {
          const chunks: Buffer[] = [];
          for await (const chunk of source) chunks.push(chunk as Buffer);
          const data = Buffer.concat(chunks);
          const formats = formatsOf(data.length);
          const { id, leaves } = clipTree(formats, data);
          const path = join(api!.dir, id);
          writeFileSync(path, data);
          stored.push({ path, formats });
          return { id, size: data.length, path, leaves };
        },
        storeLocalFile: async (from: string, formatsOf: (size: number) => ClipFormat[], options: { inspect?: (piece: Buffer) => void } = {}) => {
          const data = readFileSync(from);
          options.inspect?.(data);
          const formats = formatsOf(data.length);
          const { id, leaves } = clipTree(formats, data);
          const path = join(api!.dir, id);
          writeFileSync(path, data);
          stored.push({ path, formats });
          return { id, size: data.length, path, leaves, copy: { start: async () => undefined, cancel: async () => undefined } };
        },
      },
    });
    return { fake, stored };
  }

  it('streams a body over the spool threshold into the store and copies the stored file', async () => {
    const { fake, stored } = spooling();
    api = await startControlApi(fake.view);
    const body = Buffer.from('a longer text than eight bytes');
    const answer = await api.client.json<CopyResponse>(copy({}, body));
    expect(answer).toEqual({ id: idOf(body, TEXT_MIME), mime: TEXT_MIME, size: body.length, peers: [] });
    expect(stored.map((s) => s.formats)).toEqual([[{ mime: TEXT_MIME, size: body.length }]]);
    expect(fake.sync.copies).toEqual([{ body: { file: stored[0]!.path, id: idOf(body, TEXT_MIME), size: body.length, leaves: clipTree([{ mime: TEXT_MIME, size: body.length }], body).leaves }, formats: [{ mime: TEXT_MIME, size: body.length }], source: 'cli' }]);
    expect(readFileSync(stored[0]!.path)).toEqual(body);
  });

  it('names a spooled body by the type guessed from all its bytes, or the one given', async () => {
    const { fake, stored } = spooling();
    api = await startControlApi(fake.view);
    // Valid UTF-8 up to the last byte, which is not: octet-stream, known only at the end.
    const body = Buffer.concat([Buffer.from('text for a while, then '), Buffer.from([0xff])]);
    expect(await api.client.json<CopyResponse>(copy({}, body))).toMatchObject({ id: idOf(body, BINARY_MIME), mime: BINARY_MIME });
    const png = Buffer.from('not really a png, but said to be');
    expect(await api.client.json<CopyResponse>(copy({ mime: 'image/png' }, png))).toMatchObject({ id: idOf(png, 'image/png'), mime: 'image/png' });
    expect(stored.map((s) => s.formats)).toEqual([[{ mime: BINARY_MIME, size: body.length }], [{ mime: 'image/png', size: png.length }]]);
    expect(fake.sync.copies.map((c) => c.formats)).toEqual(stored.map((s) => s.formats));
  });

  it('with wait=1, answers once every peer has, with how each fared', async () => {
    const fake = fakeDaemon();
    const a = pendingDelivery('SHA256:a', 'a');
    const b = pendingDelivery('SHA256:b', 'b');
    fake.sync.deliveries = [a, b];
    api = await startControlApi(fake.view);
    const answer = api.client.json<CopyResponse>(copy({ wait: '1' }));
    await waitFor(() => fake.sync.copies.length === 1, { intervalMs: 5, what: 'the copy' });
    b.resolve({ fingerprint: 'SHA256:b', name: 'b', status: 'failed', detail: 'the peer holds a newer clip' });
    a.resolve({ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' });
    expect((await answer).peers).toEqual([
      { fingerprint: 'SHA256:a', name: 'a', status: 'delivered' },
      { fingerprint: 'SHA256:b', name: 'b', status: 'failed', detail: 'the peer holds a newer clip' },
    ]);
  });

  it('with wait=1 and a timeout, counts the peers still silent as failed', async () => {
    const clock = new FakeClock();
    const fake = fakeDaemon();
    const a = pendingDelivery('SHA256:a', 'a');
    const b = pendingDelivery('SHA256:b', 'b');
    fake.sync.deliveries = [a, b];
    a.resolve({ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' });
    api = await startControlApi(fake.view, clock);
    const answer = api.client.json<CopyResponse>(copy({ wait: '1', timeout: '5' }));
    await waitFor(() => clock.pendingTimers === 1, { intervalMs: 5, what: 'the timeout to be set' });
    expect(clock.pendingDelays()).toEqual([5000]);
    await clock.advance(5000);
    expect((await answer).peers).toEqual([
      { fingerprint: 'SHA256:a', name: 'a', status: 'delivered' },
      { fingerprint: 'SHA256:b', name: 'b', status: 'failed', detail: 'no acknowledgement within 5 s' },
    ]);
  });

  it('takes fractions of a second, and clears the timeout when every peer answered in time', async () => {
    const clock = new FakeClock();
    const fake = fakeDaemon();
    const a = pendingDelivery('SHA256:a', 'a');
    fake.sync.deliveries = [a];
    api = await startControlApi(fake.view, clock);
    const answer = api.client.json<CopyResponse>(copy({ wait: '1', timeout: '0.25' }));
    await waitFor(() => clock.pendingTimers === 1, { intervalMs: 5, what: 'the timeout to be set' });
    expect(clock.pendingDelays()).toEqual([250]);
    a.resolve({ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' });
    expect((await answer).peers).toEqual([{ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses a timeout that is not a number of seconds, before copying anything', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    for (const timeout of ['-3', 'soon', '1e3', 'Infinity']) {
      await expect(api.client.json<CopyResponse>(copy({ wait: '1', timeout }))).rejects.toMatchObject({ code: 'CLIPSYNC_ERR_USAGE' });
    }
    expect(fake.sync.copies).toEqual([]);
  });

  it('sets no timeout for 0 or no timeout', async () => {
    const clock = new FakeClock();
    const fake = fakeDaemon();
    api = await startControlApi(fake.view, clock);
    for (const timeout of ['0', '']) {
      const a = pendingDelivery('SHA256:a', 'a');
      fake.sync.deliveries = [a];
      const answer = api.client.json<CopyResponse>(copy({ wait: '1', timeout }));
      await waitFor(() => fake.sync.copies.length > 0, { intervalMs: 5, what: 'the copy' });
      expect(clock.pendingTimers).toBe(0);
      a.resolve({ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' });
      expect((await answer).peers).toHaveLength(1);
      fake.sync.copies.length = 0;
    }
  });

  it('with wait=1&progress=1, streams this clip’s sends to the waited-for peers, then the result', async () => {
    const fake = fakeDaemon();
    const a = pendingDelivery('SHA256:a', 'a');
    const b = pendingDelivery('SHA256:b', 'b');
    fake.sync.deliveries = [a, b];
    api = await startControlApi(fake.view);
    const id = idOf(Buffer.from('hello'), TEXT_MIME);
    // A client that hangs up early: the route still lets go of the board once the peers answered.
    const res = await api.client.open(copy({ wait: '1', progress: '1' }));
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    res.destroy();
    a.resolve({ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' });
    b.resolve({ fingerprint: 'SHA256:b', name: 'b', status: 'delivered' });
    await waitFor(() => fake.board.listenerCount('end') === 0, { intervalMs: 5, what: 'the first stream to end' });

    const c = pendingDelivery('SHA256:a', 'a');
    const d = pendingDelivery('SHA256:b', 'b');
    fake.sync.deliveries = [c, d];
    const lines = api.client.lines<CopyEvent>(copy({ wait: '1', progress: '1' }));
    const first = lines.next();
    await waitFor(() => fake.board.listenerCount('end') === 1, { intervalMs: 5, what: 'the copy to follow the board' });
    // Not this clip's sends to the waited-for peers: left out.
    fake.board.start(transfer('ff'.repeat(32), 'send', 'SHA256:a')).end('completed');
    fake.board.start(transfer(id, 'receive', 'SHA256:a')).end('completed');
    fake.board.start(transfer(id, 'send', 'SHA256:stranger')).end('completed');
    const toA = fake.board.start(transfer(id, 'send', 'SHA256:a', 5));
    expect((await first).value).toEqual({ event: 'progress', transfer: toA.info() });
    fake.boardNow.ms += 200;
    toA.advance(5);
    expect((await lines.next()).value).toEqual({ event: 'progress', transfer: toA.info() });
    toA.end('completed');
    expect((await lines.next()).value).toEqual({ event: 'end', transfer: toA.info(), outcome: 'completed' });
    c.resolve({ fingerprint: 'SHA256:a', name: 'a', status: 'delivered' });
    d.resolve({ fingerprint: 'SHA256:b', name: 'b', status: 'failed', detail: 'disconnected before it had the clip' });
    expect((await lines.next()).value).toEqual({
      event: 'result',
      result: {
        id,
        mime: TEXT_MIME,
        size: 5,
        peers: [
          { fingerprint: 'SHA256:a', name: 'a', status: 'delivered' },
          { fingerprint: 'SHA256:b', name: 'b', status: 'failed', detail: 'disconnected before it had the clip' },
        ],
      },
    });
    expect((await lines.next()).done).toBe(true);
    expect(fake.board.listenerCount('progress')).toBe(0);
    expect(fake.board.listenerCount('end')).toBe(0);
  });

  it('with progress, ends the stream with an error line when waiting fails', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    for (const [failure, error] of [
      [fail('CLIPSYNC_ERR_SPOOL', 'the spool is gone', { hint: 'look' }), { code: 'CLIPSYNC_ERR_SPOOL', message: 'the spool is gone', hint: 'look' }],
      [new Error('unexpected'), { code: 'CLIPSYNC_ERR_INTERNAL', message: 'internal error in the daemon; see its log' }],
    ] as const) {
      const a = pendingDelivery('SHA256:a', 'a');
      a.reject(failure);
      fake.sync.deliveries = [a];
      const events: CopyEvent[] = [];
      for await (const event of api.client.lines<CopyEvent>(copy({ wait: '1', progress: '1' }))) events.push(event);
      expect(events).toEqual([{ event: 'error', error }]);
    }
    expect(fake.board.listenerCount('progress')).toBe(0);
  });

  it('ignores progress=1 without wait=1', async () => {
    const fake = fakeDaemon();
    fake.sync.deliveries = [pendingDelivery('SHA256:a', 'a')];
    api = await startControlApi(fake.view);
    expect((await api.client.json<CopyResponse>(copy({ progress: '1' }))).peers).toEqual([]);
  });
});
