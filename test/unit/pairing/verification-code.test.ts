import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CODE_DIGITS, PAIRING_NONCE_BYTES, nonceCommitment, verificationCode } from '../../../src/pairing/verification-code.js';

const key = (fill: number): Buffer => Buffer.concat([Buffer.from('\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20', 'latin1'), Buffer.alloc(32, fill)]);
const nonce = (): Buffer => randomBytes(PAIRING_NONCE_BYTES);

describe('verificationCode', () => {
  const a = { key: key(1), nonce: nonce() };
  const b = { key: key(2), nonce: nonce() };

  it('is six decimal digits', () => {
    expect(verificationCode(a, b)).toMatch(new RegExp(`^\\d{${CODE_DIGITS}}$`));
  });

  it('is the same on both sides, whichever order they pass the parties in', () => {
    expect(verificationCode(a, b)).toBe(verificationCode(b, a));
  });

  it('is a pure function of keys and nonces', () => {
    expect(verificationCode({ key: Buffer.from(a.key), nonce: Buffer.from(a.nonce) }, { ...b })).toBe(verificationCode(a, b));
  });

  it('differs when either key is another one (what a man in the middle presents)', () => {
    const codes = new Set([verificationCode(a, b), verificationCode({ ...a, key: key(3) }, b), verificationCode(a, { ...b, key: key(4) })]);
    expect(codes.size).toBe(3);
  });

  it('differs when a nonce changes: a new pairing of the same two keys gets a new code', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(verificationCode({ ...a, nonce: nonce() }, b));
    // 20 draws from a million values: a repeat would be a one-in-5000 fluke.
    expect(seen.size).toBeGreaterThanOrEqual(19);
  });

  it('binds each nonce to its key: swapping the nonces changes the code', () => {
    expect(verificationCode({ key: a.key, nonce: b.nonce }, { key: b.key, nonce: a.nonce })).not.toBe(verificationCode(a, b));
  });

  it('spreads over the whole range (no digit stuck)', () => {
    const firstDigits = new Set<string>();
    for (let i = 0; i < 200; i++) firstDigits.add(verificationCode({ key: key(1), nonce: nonce() }, b)[0]!);
    expect(firstDigits.size).toBe(10);
  });
});

describe('nonceCommitment', () => {
  it('binds the nonce and both keys, in role order', () => {
    const n = nonce();
    const c = nonceCommitment(key(1), key(2), n);
    expect(c).toHaveLength(32);
    expect(nonceCommitment(key(1), key(2), Buffer.from(n)).equals(c)).toBe(true);
    expect(nonceCommitment(key(2), key(1), n).equals(c)).toBe(false);
    expect(nonceCommitment(key(1), key(3), n).equals(c)).toBe(false);
    expect(nonceCommitment(key(1), key(2), nonce()).equals(c)).toBe(false);
  });
});
