import { afterEach, describe, expect, it } from 'vitest';
import { fail } from '../../../src/core/errors.js';
import type { PairCandidate, PairingInfo } from '../../../src/ipc/schema.js';
import { errorBody, errorOf, fakeDaemon, pairingInfo, startControlApi, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('the pairing routes', () => {
  it('list the candidates and the pending requests', async () => {
    const fake = fakeDaemon();
    fake.pairing.candidateList = [{ name: 'desk', fingerprint: 'SHA256:desk', address: 'tcp://192.0.2.9:25470' }];
    fake.pairing.pendingList = [pairingInfo('desk'), pairingInfo('box', 'exchanging')];
    api = await startControlApi(fake.view);
    expect(await api.client.json<PairCandidate[]>({ method: 'GET', path: '/v1/pair/candidates' })).toEqual(fake.pairing.candidateList);
    expect(await api.client.json<PairingInfo[]>({ method: 'GET', path: '/v1/pair/pending' })).toEqual(fake.pairing.pendingList);
  });

  it('start, accept (with and without wait), reject and wait on the peer named', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const ask = (method: 'GET' | 'POST', path: string, query: Record<string, string>) => api!.client.json<PairingInfo>({ method, path, query });
    expect(await ask('POST', '/v1/pair', { peer: 'tcp://192.0.2.9:25470' })).toEqual(pairingInfo('tcp://192.0.2.9:25470'));
    expect(await ask('POST', '/v1/pair/accept', { peer: 'desk' })).toEqual(pairingInfo('desk'));
    expect(await ask('POST', '/v1/pair/accept', { peer: 'desk', wait: '1' })).toEqual(pairingInfo('desk'));
    expect(await ask('POST', '/v1/pair/accept', { peer: 'desk', wait: 'yes' })).toEqual(pairingInfo('desk'));
    expect(await ask('POST', '/v1/pair/reject', { peer: 'SHA256:desk' })).toEqual(pairingInfo('SHA256:desk'));
    expect(await ask('GET', '/v1/pair/wait', { peer: 'desk' })).toEqual(pairingInfo('desk'));
    expect(fake.pairing.calls).toEqual([
      'start tcp://192.0.2.9:25470',
      'accept desk wait=false',
      'accept desk wait=true',
      'accept desk wait=false',
      'reject SHA256:desk',
      'wait desk',
    ]);
  });

  it('refuse a missing or blank peer with CLIPSYNC_ERR_USAGE (400)', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    for (const [method, path] of [
      ['POST', '/v1/pair'],
      ['POST', '/v1/pair/accept'],
      ['POST', '/v1/pair/reject'],
      ['GET', '/v1/pair/wait'],
    ] as const) {
      const err = await errorOf(api.client.json({ method, path }));
      expect(err.code).toBe('CLIPSYNC_ERR_USAGE');
      expect(err.message).toBe('the "peer" query parameter is required (a name, a fingerprint or an address)');
      const blank = await api.raw(method, `${path}?peer=%20%20`);
      expect(blank.status).toBe(400);
      expect(errorBody(blank).code).toBe('CLIPSYNC_ERR_USAGE');
    }
    expect(fake.pairing.calls).toEqual([]);
  });

  it('pass the pairing errors on: unknown peer 404 with its hint, the others 500', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    fake.pairing.failure = fail('CLIPSYNC_ERR_UNKNOWN_PEER', 'no pairing candidate is called "nobody"', { hint: 'run `clipsync pair`' });
    const unknown = await errorOf(api.client.json({ method: 'POST', path: '/v1/pair', query: { peer: 'nobody' } }));
    expect(unknown.toJSON()).toEqual({ code: 'CLIPSYNC_ERR_UNKNOWN_PEER', message: 'no pairing candidate is called "nobody"', hint: 'run `clipsync pair`' });
    expect((await api.raw('POST', '/v1/pair?peer=nobody')).status).toBe(404);
    fake.pairing.failure = fail('CLIPSYNC_ERR_PAIRING', 'the request has ended: rejected');
    const ended = await api.raw('POST', '/v1/pair/accept?peer=desk');
    expect(ended.status).toBe(500);
    expect(errorBody(ended)).toEqual({ code: 'CLIPSYNC_ERR_PAIRING', message: 'the request has ended: rejected' });
  });
});
