import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, attemptAfterDrop, backoffDelay, type BackoffPolicy } from '../../../src/peers/backoff.js';

const policy = (random: number, baseMs = 1000, capMs = 30_000): BackoffPolicy => ({ baseMs, capMs, random: () => random });

describe('backoffDelay', () => {
  it('with random = 0, is half the ceiling, which doubles from the base', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy(0)));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000]);
  });

  it('with random = 0.999, is just under the ceiling, which doubles from the base', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy(0.999)));
    expect(delays).toEqual([1000, 1999, 3998, 7996, 15992]);
    for (const [i, d] of delays.entries()) {
      const ceiling = 1000 * 2 ** i;
      expect(d).toBeLessThanOrEqual(ceiling);
      expect(d).toBeGreaterThan(ceiling * 0.99);
    }
  });

  it('is capped at capMs, however many attempts', () => {
    for (const attempt of [6, 7, 10, 31, 32, 100, 10_000]) {
      expect(backoffDelay(attempt, policy(0))).toBe(15_000);
      expect(backoffDelay(attempt, policy(0.999))).toBeLessThanOrEqual(30_000);
      expect(backoffDelay(attempt, policy(0.999))).toBe(29_985);
    }
  });

  it('never goes below half the ceiling nor above it', () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      for (const r of [0, 0.25, 0.5, 0.75, 0.999]) {
        const d = backoffDelay(attempt, policy(r));
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it('is non-decreasing in the attempt number for a fixed random value', () => {
    for (const r of [0, 0.999]) {
      let previous = 0;
      for (let attempt = 1; attempt <= 40; attempt++) {
        const d = backoffDelay(attempt, policy(r));
        expect(d).toBeGreaterThanOrEqual(previous);
        previous = d;
      }
    }
  });

  it('treats attempt 0 or less like the first retry', () => {
    expect(backoffDelay(0, policy(0))).toBe(500);
    expect(backoffDelay(-5, policy(0.999))).toBe(1000);
  });

  it('honours a custom base and cap', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, policy(0, 100, 500)))).toEqual([50, 100, 200, 250]);
  });

  it('the default policy doubles from 1 s to a 30 s cap', () => {
    expect(DEFAULT_BACKOFF.baseMs).toBe(1000);
    expect(DEFAULT_BACKOFF.capMs).toBe(30_000);
    const d = backoffDelay(1, DEFAULT_BACKOFF);
    expect(d).toBeGreaterThanOrEqual(500);
    expect(d).toBeLessThanOrEqual(1000);
  });
});

describe('attemptAfterDrop (reset only after a connection stayed up)', () => {
  it('starts over after a stable connection', () => {
    expect(attemptAfterDrop(7, 10_000, 10_000)).toBe(1);
    expect(attemptAfterDrop(0, 3_600_000, 10_000)).toBe(1);
  });

  it('keeps doubling for a connection that drops at once, up to the cap', () => {
    const policy: BackoffPolicy = { baseMs: 1000, capMs: 30_000, random: () => 0 };
    let attempt = 0;
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      attempt = attemptAfterDrop(attempt, 50, 10_000);
      delays.push(backoffDelay(attempt, policy));
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
  });
});
