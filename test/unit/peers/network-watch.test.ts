import { describe, expect, it } from 'vitest';
import { NetworkWatch, currentAddresses, type NetworkChange } from '../../../src/peers/network-watch.js';
import { FakeClock } from '../_support/fake-clock.js';

function setup(addresses: { value: string }) {
  const timers = new FakeClock(0);
  const changes: NetworkChange[] = [];
  const watch = new NetworkWatch({ intervalMs: 2000, wakeGapMs: 10_000, clock: timers, addresses: () => addresses.value, onChange: (c) => changes.push(c) });
  return { timers, changes, watch };
}

describe('NetworkWatch', () => {
  it('says nothing while ticks come on time and addresses stay', () => {
    const addresses = { value: 'eth0/10.0.0.2' };
    const { timers, changes, watch } = setup(addresses);
    watch.start();
    for (let i = 0; i < 20; i++) timers.advanceSync(2000);
    expect(changes).toEqual([]);
  });

  it('reports a wake when a tick arrives far later than due (the machine slept)', () => {
    const addresses = { value: 'eth0/10.0.0.2' };
    const { timers, changes, watch } = setup(addresses);
    watch.start();
    timers.advanceSync(2000);
    timers.sleep(60_000); // the clock moves on, timers did not run
    timers.advanceSync(2000);
    expect(changes).toEqual(['wake']);
    timers.advanceSync(2000);
    expect(changes).toEqual(['wake']);
  });

  it('reports a network change when the addresses change, once', () => {
    const addresses = { value: 'eth0/10.0.0.2' };
    const { timers, changes, watch } = setup(addresses);
    watch.start();
    timers.advanceSync(2000);
    addresses.value = 'wlan0/192.168.1.7';
    timers.advanceSync(2000);
    timers.advanceSync(2000);
    expect(changes).toEqual(['network']);
  });

  it('stops', () => {
    const addresses = { value: 'a' };
    const { timers, changes, watch } = setup(addresses);
    watch.start();
    watch.stop();
    addresses.value = 'b';
    timers.advanceSync(10_000);
    expect(changes).toEqual([]);
    expect(timers.pendingTimers).toBe(0);
  });

  it('lists this machine’s addresses stably', () => {
    expect(currentAddresses()).toBe(currentAddresses());
  });
});
