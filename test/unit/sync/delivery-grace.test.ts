import { beforeEach, describe, expect, it } from 'vitest';
import { DeliveryTracker, type DeliveryResult } from '../../../src/sync/delivery.js';
import { DeliveryGrace } from '../../../src/sync/delivery-grace.js';
import { FakeClock } from '../_support/fake-clock.js';
import { turns } from '../_support/event-loop.js';

describe('DeliveryGrace', () => {
  let clock: FakeClock;
  beforeEach(() => {
    clock = new FakeClock();
  });
  const advance = (ms: number): Promise<void> => clock.advance(ms, () => turns(1));

  function setup(moving: { value: boolean }) {
    const tracker = new DeliveryTracker();
    const grace = new DeliveryGrace(tracker, 30_000, () => moving.value, clock);
    const results: DeliveryResult[] = [];
    const wait = (clip: string) => void tracker.wait(clip, 'fp').then((r) => results.push(r));
    return { tracker, grace, results, wait };
  }

  it('fails the waiters of a dropped peer after the grace period, not before', async () => {
    const { grace, results, wait } = setup({ value: false });
    wait('clip1');
    grace.peerDropped('fp', 'desk');
    await advance(29_999);
    expect(results).toEqual([]);
    await advance(1);
    expect(results).toEqual([{ fingerprint: 'fp', name: 'desk', status: 'failed', detail: 'disconnected before it had the clip' }]);
  });

  it('lets a peer that came back and delivered settle first', async () => {
    const { tracker, grace, results, wait } = setup({ value: false });
    wait('clip1');
    grace.peerDropped('fp', 'desk');
    tracker.settle('clip1', { fingerprint: 'fp', name: 'desk', status: 'delivered' });
    await advance(60_000);
    expect(results.map((r) => r.status)).toEqual(['delivered']);
  });

  it('extends while the resumed transfer is moving, and does not fail a later copy', async () => {
    const moving = { value: true };
    const { grace, results, wait } = setup(moving);
    wait('old');
    grace.peerDropped('fp', 'desk');
    wait('later'); // copied after the drop: not this grace period's business
    await advance(90_000);
    expect(results).toEqual([]);
    moving.value = false;
    await advance(30_000);
    expect(results.map((r) => r.detail)).toEqual(['disconnected before it had the clip']);
  });

  it('does not restart the clock when the peer drops again', async () => {
    const { grace, results, wait } = setup({ value: false });
    wait('clip1');
    grace.peerDropped('fp', 'desk');
    await advance(20_000);
    grace.peerDropped('fp', 'desk');
    await advance(10_000);
    expect(results).toHaveLength(1);
  });
});
