import { afterEach, describe, expect, it } from 'vitest';
import { DaemonEvents } from '../../../src/ipc/daemon-events.js';
import type { WatchEvent } from '../../../src/ipc/schema.js';
import { fakeDaemon, pairingInfo, startControlApi, type ControlApi } from './control-api.js';

let api: ControlApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** Reads the watch stream line by line, as a status bar would. */
async function follow(client: ControlApi['client']): Promise<{ next: () => Promise<WatchEvent>; stop: () => Promise<void> }> {
  const lines = client.lines<WatchEvent>({ method: 'GET', path: '/v1/watch' })[Symbol.asyncIterator]();
  return {
    next: async () => {
      const { value, done } = await lines.next();
      if (done === true) throw new Error('the watch stream ended');
      return value;
    },
    stop: async () => void (await lines.return?.(undefined)),
  };
}

describe('GET /v1/watch', () => {
  it('sends the status at once, again only when it changed, and pairing requests and notices as they come', async () => {
    const events = new DaemonEvents();
    const fake = fakeDaemon({ events });
    api = await startControlApi(fake.view);
    const watch = await follow(api.client);
    const first = await watch.next();
    expect(first).toMatchObject({ event: 'status', status: { running: true, peers: { connected: 0 }, transfers: 0, pairingPending: 0 } });
    await waitUntil(() => events.watched);

    events.changed(); // nothing shown changed: no line for it
    fake.peers.connected = 1;
    events.changed();
    expect(await watch.next()).toMatchObject({ event: 'status', status: { peers: { connected: 1 } } });

    const request = { ...pairingInfo('desk'), direction: 'inbound' as const, code: '123456' };
    events.pairing(request);
    expect(await watch.next()).toEqual({ event: 'pairing', request });
    events.notice({ kind: 'refused', message: 'desk refused this machine', peer: 'SHA256:desk' });
    expect(await watch.next()).toEqual({ event: 'notice', kind: 'refused', message: 'desk refused this machine', peer: 'SHA256:desk' });

    await watch.stop();
    await waitUntil(() => !events.watched); // the daemon lets go of a client that hung up
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}
