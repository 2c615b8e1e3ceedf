import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from '../../../src/core/did-you-mean.js';

const KEYS = ['pollIntervalMs', 'peers', 'peerRules', 'history', 'listen', 'mdns', 'name'];

describe('closestName', () => {
  it('finds a case-only difference, a typo, a swap', () => {
    expect(closestName('pollIntervalMS', KEYS)).toBe('pollIntervalMs');
    expect(closestName('histroy', KEYS)).toBe('history');
    expect(closestName('peerRule', KEYS)).toBe('peerRules');
    expect(closestName('lsiten', KEYS)).toBe('listen');
  });

  it('says nothing when no name is close, and is strict with short names', () => {
    expect(closestName('clipboardTimeout', KEYS)).toBeUndefined();
    expect(closestName('mdsx', KEYS)).toBeUndefined(); // two edits from "mdns": too many for 4 letters
    expect(closestName('mdn', KEYS)).toBe('mdns');
    expect(didYouMean('zzzzzz', KEYS)).toBe('');
    expect(didYouMean('nmae', KEYS)).toBe(' (did you mean "name"?)');
  });
});
