import { describe, expect, it } from 'vitest';
import { NetworkWatch, currentAddresses, type NetworkChange } from '../../../src/peers/network-watch.js';
import { FakeClock } from '../_support/fake-clock.js';

function setup(addresses: { value: string }, needed?: () => boolean) {
  const timers = new FakeClock(0);
  const changes: NetworkChange[] = [];
  let looks = 0;
  const watch = new NetworkWatch({
    intervalMs: 2000,
    wakeGapMs: 10_000,
    clock: timers,
    addresses: () => {
      looks++;
      return addresses.value;
    },
    onChange: (c) => changes.push(c),
    ...(needed === undefined ? {} : { needed }),
  });
  return { timers, changes, watch, looks: () => looks };
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

  it('rests, with no timer, while nothing needs it, and resumes from the addresses of then', () => {
    const addresses = { value: 'eth0/10.0.0.2' };
    let peers = 0;
    const { timers, changes, watch, looks } = setup(addresses, () => peers > 0);
    watch.start();
    expect(timers.pendingTimers).toBe(0);
    // Changes while resting concern no connection: not reported, not even looked at.
    addresses.value = 'wlan0/192.168.1.7';
    timers.sleep(60_000);
    timers.advanceSync(10_000);
    expect(looks()).toBe(0);

    peers = 1;
    watch.resume();
    watch.resume(); // resuming a running watch changes nothing
    expect(timers.pendingTimers).toBe(1);
    timers.advanceSync(2000);
    expect(changes).toEqual([]);
    addresses.value = 'eth0/10.0.0.9';
    timers.advanceSync(2000);
    expect(changes).toEqual(['network']);

    // The last peer went away: the next tick rests.
    peers = 0;
    timers.advanceSync(2000);
    expect(timers.pendingTimers).toBe(0);
    timers.sleep(60_000);
    peers = 1;
    watch.resume();
    timers.advanceSync(2000);
    expect(changes).toEqual(['network']);
  });

  it('does not resume once stopped', () => {
    const { timers, watch } = setup({ value: 'a' }, () => false);
    watch.start();
    watch.stop();
    watch.resume();
    expect(timers.pendingTimers).toBe(0);
  });

  it('lists this machine’s addresses stably', () => {
    expect(currentAddresses()).toBe(currentAddresses());
  });
});
