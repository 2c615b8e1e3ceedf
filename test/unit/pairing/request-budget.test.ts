import { describe, expect, it } from 'vitest';
import { RequestBudget } from '../../../src/pairing/request-budget.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('RequestBudget', () => {
  it('allows a burst up to its capacity, then refuses', () => {
    const c = clock();
    const budget = new RequestBudget(3, 10_000, c);
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false]);
    expect(budget.waitMs()).toBe(10_000);
  });

  it('gives one request back per refill period, never more than the capacity', () => {
    const c = clock();
    const budget = new RequestBudget(2, 10_000, c);
    budget.take();
    budget.take();
    c.advance(4_000);
    expect(budget.take()).toBe(false);
    expect(budget.waitMs()).toBe(6_000);
    c.advance(6_000);
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    c.advance(1_000_000);
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
  });

  it('is not fooled by a clock that steps back', () => {
    const c = clock();
    const budget = new RequestBudget(1, 10_000, c);
    budget.take();
    c.advance(-50_000);
    expect(budget.take()).toBe(false);
    c.advance(60_000);
    expect(budget.take()).toBe(true);
  });
});
