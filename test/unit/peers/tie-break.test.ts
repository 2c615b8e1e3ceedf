import { describe, expect, it } from 'vitest';
import { keepsNewConnection } from '../../../src/peers/tie-break.js';

describe('keepsNewConnection: the duplicate tie-break', () => {
  const small = 'SHA256:AAAA';
  const large = 'SHA256:BBBB';

  it('keeps the connection the smaller fingerprint dialed', () => {
    // The smaller side keeps its own dial and drops the one it accepted …
    expect(keepsNewConnection('initiator', small, large)).toBe(true);
    expect(keepsNewConnection('responder', small, large)).toBe(false);
    // … and the larger side keeps the one it accepted and drops its own dial.
    expect(keepsNewConnection('responder', large, small)).toBe(true);
    expect(keepsNewConnection('initiator', large, small)).toBe(false);
  });

  it('has both ends of one connection agree', () => {
    for (const [own, peer] of [
      [small, large],
      [large, small],
    ] as const) {
      // One connection is seen as initiator on one end and responder on the other.
      expect(keepsNewConnection('initiator', own, peer)).toBe(keepsNewConnection('responder', peer, own));
    }
  });
});
