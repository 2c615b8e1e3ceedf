import { describe, expect, it } from 'vitest';
import { Heartbeat, type Timers } from '../../../src/protocol/heartbeat.js';

/** A clock that moves only when the test says so; timers fire as it passes them. */
class ManualTimers implements Timers {
  private time = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = until;
  }
  get scheduled(): number {
    return this.pending.size;
  }
}

function setup(intervalMs = 15_000) {
  const timers = new ManualTimers();
  const events = { pings: 0, dead: 0 };
  const heartbeat = new Heartbeat({ intervalMs, timers, ping: () => events.pings++, onDead: () => events.dead++ });
  return { timers, events, heartbeat };
}

describe('Heartbeat', () => {
  it('pings at once and then every interval while pongs come back, measuring the round trip', () => {
    const { timers, events, heartbeat } = setup();
    heartbeat.start();
    expect(events.pings).toBe(1);
    timers.advance(40);
    heartbeat.onPong();
    expect(heartbeat.rttMs).toBe(40);
    for (let i = 0; i < 10; i++) {
      timers.advance(15_000 - 7);
      heartbeat.onPong();
      timers.advance(7);
    }
    expect(events.pings).toBe(11);
    expect(events.dead).toBe(0);
  });

  it('declares the peer dead when a ping is still unanswered at the next beat, exactly once', () => {
    const { timers, events, heartbeat } = setup();
    heartbeat.start();
    timers.advance(14_999);
    expect(events.dead).toBe(0);
    timers.advance(1);
    expect(events.dead).toBe(1);
    expect(events.pings).toBe(1);
    timers.advance(60_000);
    expect(events.dead).toBe(1);
    expect(timers.scheduled).toBe(0);
  });

  it('a late pong after the deadline does not revive it', () => {
    const { timers, events, heartbeat } = setup(1000);
    heartbeat.start();
    timers.advance(1000);
    heartbeat.onPong();
    timers.advance(5000);
    expect(events.dead).toBe(1);
    expect(events.pings).toBe(1);
  });

  it('stops cleanly: no more pings and no death after stop', () => {
    const { timers, events, heartbeat } = setup(1000);
    heartbeat.start();
    heartbeat.stop();
    timers.advance(10_000);
    expect(events).toEqual({ pings: 1, dead: 0 });
    expect(timers.scheduled).toBe(0);
  });

  it('ignores a pong nobody asked for', () => {
    const { heartbeat } = setup();
    heartbeat.onPong();
    expect(heartbeat.rttMs).toBeUndefined();
  });
});
