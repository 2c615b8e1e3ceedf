import { afterEach, describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../src/ipc/schema.js';
import { waitFor } from '../../helpers/wait.js';
import { errorBody, errorOf, fakeDaemon, peerInfo, SELF, startControlApi, STATUS, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('GET /v1/status', () => {
  it('answers the daemon status with peer counts and no clip', async () => {
    const fake = fakeDaemon();
    fake.peers.peers = [peerInfo('SHA256:a', 'a'), peerInfo('SHA256:b', 'b', 'backoff'), peerInfo(null, null, 'connecting')];
    fake.peers.connected = 1;
    api = await startControlApi(fake.view);
    const status = await api.client.json<StatusResponse>({ method: 'GET', path: '/v1/status' });
    expect(status).toEqual({ ...STATUS, peers: { connected: 1, known: 3 }, clip: null, transfers: 0, pairingPending: 0 });
    expect(status).toMatchObject({ clipboard: 'memory', clipboardBackend: 'memory', clipboardReason: 'chosen with --clipboard memory', sensitiveSkipped: 0 });
    const raw = await api.raw('GET', '/v1/status');
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('application/json');
    expect(Number(raw.headers['content-length'])).toBe(raw.body.length);
  });

  it("shows the current clip's metadata with its formats, never its bytes or file", async () => {
    const fake = fakeDaemon();
    const formats = [
      { mime: 'image/png', size: 3 },
      { mime: 'text/html', size: 2 },
    ];
    fake.sync.clip = { id: 'ab'.repeat(32), formats, mime: 'text/html', size: 5, ts: 77, origin: 'SHA256:peer', data: Buffer.from('abc<>'), file: '/spool/x' };
    api = await startControlApi(fake.view);
    const status = await api.client.json<StatusResponse>({ method: 'GET', path: '/v1/status' });
    expect(status.clip).toEqual({ id: 'ab'.repeat(32), formats, mime: 'text/html', size: 5, ts: 77, origin: 'SHA256:peer', local: true });
    expect(status.fingerprint).toBe(SELF);
  });

  it('marks a clip only announced here (its bytes still on the peer) as not local', async () => {
    const fake = fakeDaemon();
    fake.sync.clip = { id: 'cd'.repeat(32), mime: 'image/png', size: 3, ts: 78, origin: 'SHA256:peer', from: 'SHA256:peer' } as typeof fake.sync.clip;
    api = await startControlApi(fake.view);
    const status = await api.client.json<StatusResponse>({ method: 'GET', path: '/v1/status' });
    expect(status.clip).toMatchObject({ id: 'cd'.repeat(32), local: false });
    expect(status.clip).not.toHaveProperty('from');
  });

  it('answers an unexpected failure with 500 CLIPSYNC_ERR_INTERNAL and logs it', async () => {
    const fake = fakeDaemon();
    fake.peers.failure = new Error('boom');
    api = await startControlApi(fake.view);
    const raw = await api.raw('GET', '/v1/status');
    expect(raw.status).toBe(500);
    expect(errorBody(raw)).toEqual({ code: 'CLIPSYNC_ERR_INTERNAL', message: 'internal error in the daemon; see its log' });
    expect(api.log.at('error')).toEqual([expect.objectContaining({ msg: 'control request failed', route: '/v1/status' })]);
  });
});

describe('POST /v1/trust/reload', () => {
  it('reloads trust and answers how many peers were disconnected', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    expect(await api.client.json({ method: 'POST', path: '/v1/trust/reload' })).toEqual({ disconnected: 2 });
    expect(fake.trustReloads).toBe(1);
  });
});

describe('POST /v1/stop', () => {
  it('answers {stopping: true}, then stops the daemon', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    expect(await api.client.json({ method: 'POST', path: '/v1/stop' })).toEqual({ stopping: true });
    await waitFor(() => fake.stops === 1, { intervalMs: 5, what: 'view.stop()' });
  });
});

describe('an unknown route', () => {
  it('is CLIPSYNC_ERR_NO_ROUTE (404) naming the method and path', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const err = await errorOf(api.client.json({ method: 'GET', path: '/v1/nope' }));
    expect(err.code).toBe('CLIPSYNC_ERR_NO_ROUTE');
    expect(err.message).toBe('no such control request: GET /v1/nope');
    const wrongMethod = await api.raw('POST', '/v1/status');
    expect(wrongMethod.status).toBe(404);
    expect(errorBody(wrongMethod)).toEqual({ code: 'CLIPSYNC_ERR_NO_ROUTE', message: 'no such control request: POST /v1/status' });
    expect(fake.stops).toBe(0);
  });
});
