import { describe, expect, it } from 'vitest';
import { PauseState, type PauseInfo } from '../../../src/sync/pause-state.js';
import { FakeClock } from '../_support/fake-clock.js';

describe('PauseState', () => {
  it('pauses until resumed, and tells listeners of each change', () => {
    const clock = new FakeClock();
    const pause = new PauseState(clock);
    const heard: (PauseInfo | null)[] = [];
    pause.onChange((info) => heard.push(info));
    expect(pause.info()).toBeNull();
    const info = pause.pause();
    expect(info).toEqual({ since: new Date(clock.now()).toISOString(), until: null });
    expect(pause.paused).toBe(true);
    pause.resume();
    pause.resume(); // not paused: nothing to hear
    expect(heard).toEqual([info, null]);
    expect(pause.paused).toBe(false);
  });

  it('ends a pause with a duration by itself; pausing again moves the end, not the start', () => {
    const clock = new FakeClock();
    const pause = new PauseState(clock);
    const start = clock.now();
    pause.pause(60_000);
    clock.advanceSync(30_000);
    const moved = pause.pause(60_000);
    expect(moved).toEqual({ since: new Date(start).toISOString(), until: new Date(start + 90_000).toISOString() });
    clock.advanceSync(59_999);
    expect(pause.paused).toBe(true);
    clock.advanceSync(1);
    expect(pause.info()).toBeNull();
  });

  it('waits out a pause longer than one timer can (~24.8 days)', () => {
    const clock = new FakeClock();
    const pause = new PauseState(clock);
    const days40 = 40 * 24 * 3600 * 1000;
    pause.pause(days40);
    clock.advanceSync(2 ** 31);
    expect(pause.paused).toBe(true);
    clock.advanceSync(days40 - 2 ** 31);
    expect(pause.paused).toBe(false);
  });
});
