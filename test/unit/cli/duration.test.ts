import { describe, expect, it } from 'vitest';
import { describeWait, parseDuration } from '../../../src/cli/duration.js';

describe('pause --for durations', () => {
  it.each([
    ['90s', 90],
    ['10m', 600],
    ['1h', 3600],
    ['1h30m', 5400],
    ['2.5m', 150],
    ['45', 45],
    ['0.5', 0.5],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', 'abc', '0', '0s', '-5', '10x', '1h-5m', 'm', '1.h'])('refuses %j as a usage error', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'CLIPSYNC_ERR_USAGE' }));
  });

  it('says how long is left for people', () => {
    expect(describeWait(45_000)).toBe('45s');
    expect(describeWait(552_000)).toBe('9m 12s');
    expect(describeWait(5_400_000)).toBe('1h 30m');
  });
});
