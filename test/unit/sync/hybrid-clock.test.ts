import { describe, expect, it } from 'vitest';
import { HybridClock } from '../../../src/sync/hybrid-clock.js';

/** A wall clock the test sets by hand. */
function manualClock(start: number): { clock: () => number; set(ms: number): void } {
  let now = start;
  return {
    clock: () => now,
    set(ms) {
      now = ms;
    },
  };
}

describe('HybridClock', () => {
  it('follows the wall clock while it moves forward', () => {
    const wall = manualClock(1000);
    const hlc = new HybridClock(wall.clock);
    expect(hlc.now()).toBe(1000);
    wall.set(1500);
    expect(hlc.now()).toBe(1500);
  });

  it('never repeats a timestamp when the wall clock stands still', () => {
    const hlc = new HybridClock(() => 1000);
    const stamps = Array.from({ length: 100 }, () => hlc.now());
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    expect(stamps[0]).toBe(1000);
    expect(stamps[99]).toBe(1099);
  });

  it('stays monotonic when the wall clock goes backwards', () => {
    const wall = manualClock(10_000);
    const hlc = new HybridClock(wall.clock);
    const a = hlc.now();
    wall.set(5_000);
    const b = hlc.now();
    const c = hlc.now();
    wall.set(0);
    const d = hlc.now();
    expect(a).toBe(10_000);
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(b);
    expect(d).toBeGreaterThan(c);
    // Once the wall clock catches up again, it is followed.
    wall.set(20_000);
    expect(hlc.now()).toBe(20_000);
  });

  it('a local event after observing a remote timestamp is later than it', () => {
    const wall = manualClock(1_000);
    const hlc = new HybridClock(wall.clock);
    hlc.now();
    const remote = 1_000_000; // a peer whose clock is far ahead
    hlc.observe(remote);
    const local = hlc.now();
    expect(local).toBeGreaterThan(remote);
    expect(hlc.now()).toBeGreaterThan(local);
  });

  it('observing an older remote timestamp does not move the clock back', () => {
    const wall = manualClock(50_000);
    const hlc = new HybridClock(wall.clock);
    const first = hlc.now();
    hlc.observe(10);
    expect(hlc.now()).toBeGreaterThan(first);
  });

  it('observing before any local event still orders the next one after it', () => {
    const hlc = new HybridClock(() => 0);
    hlc.observe(42);
    expect(hlc.now()).toBe(43);
  });

  it('uses Date.now by default', () => {
    const before = Date.now();
    const ts = new HybridClock().now();
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now() + 1);
  });
});
