import { describe, expect, it } from 'vitest';
import { Heartbeat } from '../../../src/protocol/heartbeat.js';
import { FakeClock } from '../_support/fake-clock.js';


function setup(intervalMs = 15_000) {
  const timers = new FakeClock(0);
  const events = { pings: 0, dead: 0 };
  const heartbeat = new Heartbeat({ intervalMs, clock: timers, ping: () => events.pings++, onDead: () => events.dead++ });
  return { timers, events, heartbeat };
}

describe('Heartbeat', () => {
  it('pings at once and then every interval while pongs come back, measuring the round trip', () => {
    const { timers, events, heartbeat } = setup();
    heartbeat.start();
    expect(events.pings).toBe(1);
    timers.advanceSync(40);
    heartbeat.onPong();
    expect(heartbeat.rttMs).toBe(40);
    for (let i = 0; i < 10; i++) {
      timers.advanceSync(15_000 - 7);
      heartbeat.onPong();
      timers.advanceSync(7);
    }
    expect(events.pings).toBe(11);
    expect(events.dead).toBe(0);
  });

  it('declares the peer dead when a ping is still unanswered at the next beat, exactly once', () => {
    const { timers, events, heartbeat } = setup();
    heartbeat.start();
    timers.advanceSync(14_999);
    expect(events.dead).toBe(0);
    timers.advanceSync(1);
    expect(events.dead).toBe(1);
    expect(events.pings).toBe(1);
    timers.advanceSync(60_000);
    expect(events.dead).toBe(1);
    expect(timers.pendingTimers).toBe(0);
  });

  it('a late pong after the deadline does not revive it', () => {
    const { timers, events, heartbeat } = setup(1000);
    heartbeat.start();
    timers.advanceSync(1000);
    heartbeat.onPong();
    timers.advanceSync(5000);
    expect(events.dead).toBe(1);
    expect(events.pings).toBe(1);
  });

  it('stops cleanly: no more pings and no death after stop', () => {
    const { timers, events, heartbeat } = setup(1000);
    heartbeat.start();
    heartbeat.stop();
    timers.advanceSync(10_000);
    expect(events).toEqual({ pings: 1, dead: 0 });
    expect(timers.pendingTimers).toBe(0);
  });

  it('ignores a pong nobody asked for', () => {
    const { heartbeat } = setup();
    heartbeat.onPong();
    expect(heartbeat.rttMs).toBeUndefined();
  });
});

describe('Heartbeat.probe (after a wake or a network change)', () => {
  it('pings at once and declares the peer dead if it does not answer within the probe deadline', () => {
    const timers = new FakeClock(0);
    let pings = 0;
    let dead = 0;
    const hb = new Heartbeat({ intervalMs: 15_000, clock: timers, ping: () => pings++, onDead: () => dead++ });
    hb.start();
    hb.onPong();
    timers.advanceSync(1000);
    hb.probe(5000);
    expect(pings).toBe(2);
    timers.advanceSync(4999);
    expect(dead).toBe(0);
    timers.advanceSync(1);
    expect(dead).toBe(1);
  });

  it('returns to the regular interval when the probe is answered', () => {
    const timers = new FakeClock(0);
    let pings = 0;
    let dead = 0;
    const hb = new Heartbeat({ intervalMs: 15_000, clock: timers, ping: () => pings++, onDead: () => dead++ });
    hb.start();
    hb.onPong();
    hb.probe(5000);
    hb.onPong();
    timers.advanceSync(5000); // next regular ping goes out at the probe deadline
    expect(pings).toBe(3);
    hb.onPong();
    timers.advanceSync(15_000);
    expect(pings).toBe(4);
    expect(dead).toBe(0);
  });
});

describe('Heartbeat.onActivity (a busy peer whose pong is stuck behind data)', () => {
  it('counts any message from the peer as a sign of life', () => {
    const timers = new FakeClock(0);
    let dead = 0;
    const hb = new Heartbeat({ intervalMs: 1000, clock: timers, ping: () => undefined, onDead: () => dead++ });
    hb.start();
    for (let i = 0; i < 5; i++) {
      timers.advanceSync(500);
      hb.onActivity(); // a DATA or CREDIT frame arrived; the pong has not
      timers.advanceSync(500);
    }
    expect(dead).toBe(0);
    timers.advanceSync(2000); // silence: dead after the next ping goes unanswered
    expect(dead).toBe(1);
  });
});
