import { describe, expect, it } from 'vitest';
import { DeliveryTracker, type DeliveryResult } from '../../../src/sync/delivery.js';

const delivered = (fingerprint: string, name = fingerprint): DeliveryResult => ({ fingerprint, name, status: 'delivered' });

/** Tracks whether a promise has settled yet, without waiting on it. */
function observe<T>(promise: Promise<T>): { settled: () => boolean; value: () => T | undefined } {
  let done = false;
  let value: T | undefined;
  void promise.then((v) => {
    done = true;
    value = v;
  });
  return { settled: () => done, value: () => value };
}

/** Lets already-resolved promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('DeliveryTracker', () => {
  it('resolves a wait when the matching clip and peer settle', async () => {
    const tracker = new DeliveryTracker();
    const waiting = tracker.wait('clip1', 'fpA');
    tracker.settle('clip1', delivered('fpA', 'laptop'));
    await expect(waiting).resolves.toEqual({ fingerprint: 'fpA', name: 'laptop', status: 'delivered' });
  });

  it('does not resolve for another peer or another clip', async () => {
    const tracker = new DeliveryTracker();
    const waiting = observe(tracker.wait('clip1', 'fpA'));
    tracker.settle('clip1', delivered('fpB'));
    tracker.settle('clip2', delivered('fpA'));
    await flush();
    expect(waiting.settled()).toBe(false);
    tracker.settle('clip1', delivered('fpA'));
    await flush();
    expect(waiting.value()?.fingerprint).toBe('fpA');
  });

  it('resolves every waiter on the same clip and peer', async () => {
    const tracker = new DeliveryTracker();
    const first = tracker.wait('clip1', 'fpA');
    const second = tracker.wait('clip1', 'fpA');
    tracker.settle('clip1', delivered('fpA'));
    expect((await first).status).toBe('delivered');
    expect((await second).status).toBe('delivered');
  });

  it('settles once: a later settle for the same pair reaches only new waiters', async () => {
    const tracker = new DeliveryTracker();
    const first = tracker.wait('clip1', 'fpA');
    tracker.settle('clip1', delivered('fpA'));
    tracker.settle('clip1', { fingerprint: 'fpA', name: 'fpA', status: 'failed', detail: 'late' });
    expect((await first).status).toBe('delivered');
    const later = observe(tracker.wait('clip1', 'fpA'));
    await flush();
    expect(later.settled()).toBe(false);
  });

  it('settling with nobody waiting is a no-op', () => {
    const tracker = new DeliveryTracker();
    expect(() => tracker.settle('nothing', delivered('fpA'))).not.toThrow();
  });

  it('keeps waiters for other peers of a clip when one peer settles', async () => {
    const tracker = new DeliveryTracker();
    const a = tracker.wait('clip1', 'fpA');
    const b = observe(tracker.wait('clip1', 'fpB'));
    tracker.settle('clip1', delivered('fpA'));
    await a;
    await flush();
    expect(b.settled()).toBe(false);
    tracker.settle('clip1', delivered('fpB'));
    await flush();
    expect(b.value()?.status).toBe('delivered');
  });

  it('failPeer fails every clip waiting on that peer, and only that peer', async () => {
    const tracker = new DeliveryTracker();
    const c1 = tracker.wait('clip1', 'fpA');
    const c2 = tracker.wait('clip2', 'fpA');
    const other = observe(tracker.wait('clip1', 'fpB'));
    tracker.failPeer('fpA', 'laptop', 'connection lost');
    const expected = { fingerprint: 'fpA', name: 'laptop', status: 'failed', detail: 'connection lost' };
    await expect(c1).resolves.toEqual(expected);
    await expect(c2).resolves.toEqual(expected);
    await flush();
    expect(other.settled()).toBe(false);
  });

  it('failPeer spares the excepted clip', async () => {
    const tracker = new DeliveryTracker();
    const kept = observe(tracker.wait('keep', 'fpA'));
    const dropped = tracker.wait('drop', 'fpA');
    tracker.failPeer('fpA', 'laptop', 'replaced', 'keep');
    expect((await dropped).status).toBe('failed');
    await flush();
    expect(kept.settled()).toBe(false);
    tracker.settle('keep', delivered('fpA'));
    await flush();
    expect(kept.value()?.status).toBe('delivered');
  });

  it('a delivery acked over a replacement connection still counts (keyed by fingerprint)', async () => {
    const tracker = new DeliveryTracker();
    const waiting = tracker.wait('clip1', 'fpA');
    // The first connection to fpA drops; the clip is spared, then acked on the new one.
    tracker.failPeer('fpA', 'laptop', 'reconnecting', 'clip1');
    tracker.settle('clip1', delivered('fpA', 'laptop'));
    expect((await waiting).status).toBe('delivered');
  });

  it('failPeer with nobody waiting is a no-op', () => {
    expect(() => new DeliveryTracker().failPeer('fpA', 'x', 'gone')).not.toThrow();
  });
});
