import { afterEach, describe, expect, it } from 'vitest';
import type { PeersResponse, TransferEvent } from '../../../src/ipc/schema.js';
import type { TransferInfo } from '../../../src/sync/transfer-board.js';
import { waitFor } from '../../helpers/wait.js';
import { fakeDaemon, peerInfo, startControlApi, transfer, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const CLIP = 'c1'.repeat(32);

describe('GET /v1/peers', () => {
  it('lists every peer with the transfers in flight with it', async () => {
    const fake = fakeDaemon();
    fake.peers.peers = [peerInfo('SHA256:a', 'a'), peerInfo('SHA256:b', 'b', 'backoff'), peerInfo(null, null, 'connecting')];
    const toA = fake.board.start(transfer(CLIP, 'send', 'SHA256:a'));
    const fromA = fake.board.start(transfer(CLIP, 'receive', 'SHA256:a'));
    fake.board.start(transfer(CLIP, 'send', 'SHA256:elsewhere'));
    toA.advance(30);
    api = await startControlApi(fake.view);
    const peers = await api.client.json<PeersResponse>({ method: 'GET', path: '/v1/peers' });
    const rules = { send: true, receive: true, formats: null, maxBytes: null, matched: null };
    expect(peers).toEqual([
      { ...peerInfo('SHA256:a', 'a'), transfers: [toA.info(), fromA.info()], rules },
      { ...peerInfo('SHA256:b', 'b', 'backoff'), transfers: [], rules },
      { ...peerInfo(null, null, 'connecting'), transfers: [], rules },
    ]);
    expect(peers[0]!.transfers[0]!.bytes).toBe(30);
  });
});

describe('GET /v1/transfers', () => {
  it('lists the transfers in flight, [] when idle', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    expect(await api.client.json({ method: 'GET', path: '/v1/transfers' })).toEqual([]);
    const handle = fake.board.start(transfer(CLIP, 'receive', 'SHA256:a', 500));
    handle.advance(200);
    expect(await api.client.json<TransferInfo[]>({ method: 'GET', path: '/v1/transfers' })).toEqual([handle.info()]);
    handle.end('completed');
    expect(await api.client.json({ method: 'GET', path: '/v1/transfers' })).toEqual([]);
  });
});

describe('GET /v1/events', () => {
  it('streams the transfers in flight, then progress and end events, until the client hangs up', async () => {
    const fake = fakeDaemon();
    const first = fake.board.start(transfer(CLIP, 'send', 'SHA256:a'));
    api = await startControlApi(fake.view);
    const raw = api.client.open({ method: 'GET', path: '/v1/events' });
    const res = await raw;
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.headers['cache-control']).toBe('no-store');
    res.destroy();

    const lines = api.client.lines<TransferEvent>({ method: 'GET', path: '/v1/events' });
    // The board is followed before the transfers in flight are written, so once the first
    // line is here no event can be missed.
    expect((await lines.next()).value).toEqual({ event: 'progress', transfer: first.info() });

    fake.boardNow.ms += 500;
    first.advance(40);
    expect((await lines.next()).value).toEqual({ event: 'progress', transfer: first.info() });
    first.end('completed');
    expect((await lines.next()).value).toEqual({ event: 'end', transfer: first.info(), outcome: 'completed' });

    const second = fake.board.start(transfer('c2'.repeat(32), 'receive', 'SHA256:b', 10));
    expect((await lines.next()).value).toEqual({ event: 'progress', transfer: second.info() });
    second.end('interrupted', 'disconnected');
    expect((await lines.next()).value).toEqual({ event: 'end', transfer: second.info(), outcome: 'interrupted', detail: 'disconnected' });

    await lines.return(undefined);
    await waitFor(() => fake.board.listenerCount('progress') === 0 && fake.board.listenerCount('end') === 0, {
      intervalMs: 5,
      what: 'the event stream to stop following the board',
    });
  });
});
