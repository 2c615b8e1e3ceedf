import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_HASH_BYTES,
  LEAF_BYTES,
  LeafHasher,
  LeafMismatch,
  LeafVerifier,
  blake3Hash,
  contentTree,
  leafCount,
  leafRange,
  rootId,
} from '../../../src/content/content-hash.js';

interface Vectors {
  context_string: string;
  cases: { input_len: number; hash: string; derive_key: string }[];
}

/** BLAKE3's reference vectors (test/fixtures/blake3-test-vectors.json, from the BLAKE3 repository). */
const vectors = JSON.parse(readFileSync(new URL('../../fixtures/blake3-test-vectors.json', import.meta.url), 'utf8')) as Vectors;

/** The vectors' input: 0, 1, …, 250 repeated. */
function vectorInput(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

const MiB = 1 << 20;

describe('BLAKE3 against the reference test vectors', () => {
  it.each(vectors.cases.map((c) => [c.input_len, c] as const))('hashes %i bytes as the reference does', (length, c) => {
    expect(blake3Hash(vectorInput(length)).toString('hex')).toBe(c.hash);
    // Fed in uneven pieces, as leaves are hashed while they arrive.
    const input = vectorInput(length);
    const hasher = new LeafHasher();
    for (let at = 0; at < length; at += 97) hasher.update(input.subarray(at, at + 97));
    expect(hasher.finish().toString('hex')).toBe(c.hash); // all the vectors are within one leaf
  });

  it.each(vectors.cases.map((c) => [c.input_len, c] as const))('derives a key from %i bytes as the reference does (the mode the id uses)', (length, c) => {
    expect(Blake3Hasher.newDeriveKey(vectors.context_string).update(vectorInput(length)).digestBuffer().toString('hex')).toBe(c.derive_key);
  });

  it('covers inputs across BLAKE3 chunk and tree boundaries', () => {
    expect(vectors.cases.map((c) => c.input_len)).toEqual(expect.arrayContaining([0, 1, 1023, 1024, 1025, 2048, 2049, 8192, 8193, 31744, 102400]));
  });
});

describe('leaves', () => {
  it.each([
    [0, 1],
    [1, 1],
    [MiB, 1],
    [MiB + 1, 2],
    [5 * MiB, 5],
  ])('a body of %i bytes has %i leaves', (size, count) => {
    expect(leafCount(size)).toBe(count);
  });

  it('cuts the last leaf short', () => {
    expect(leafRange(2, 2 * MiB + 5)).toEqual({ start: 2 * MiB, end: 2 * MiB + 5 });
    expect(leafRange(0, 0)).toEqual({ start: 0, end: 0 });
  });

  it('hashes each leaf with plain BLAKE3 and the id over the leaf list and the trailer', () => {
    const body = randomBytes(2 * MiB + 10);
    const trailer = Buffer.from('["x/y",1]\0\0\0\x09');
    const { id, leaves } = contentTree(body, trailer);
    expect(leaves.length).toBe(3 * CONTENT_HASH_BYTES);
    expect(leaves.subarray(64, 96).equals(blake3Hash(body.subarray(2 * MiB)))).toBe(true);
    expect(id).toBe(rootId(leaves, trailer));
  });

  it('gives the same leaves whatever the split of the stream', () => {
    const body = randomBytes(3 * MiB + 777);
    const whole = contentTree(body, Buffer.alloc(0)).leaves;
    for (const piece of [1, 4096, 960 * 1024, MiB, 3 * MiB]) {
      const hasher = new LeafHasher();
      for (let at = 0; at < body.length; at += piece) hasher.update(body.subarray(at, at + piece));
      expect(hasher.finish().equals(whole)).toBe(true);
    }
  });

  it('gives an empty body one leaf, the hash of nothing', () => {
    expect(contentTree(Buffer.alloc(0), Buffer.alloc(0)).leaves.equals(blake3Hash(Buffer.alloc(0)))).toBe(true);
  });
});

describe('LeafVerifier', () => {
  const body = randomBytes(3 * MiB + 1000); // three whole leaves and a partial fourth
  const { leaves } = contentTree(body, Buffer.alloc(0));

  function feed(verifier: LeafVerifier, bytes: Buffer, piece: number): void {
    for (let at = 0; at < bytes.length; at += piece) verifier.update(bytes.subarray(at, at + piece));
  }

  it('accepts the right bytes in any pieces, proving each leaf as it completes', () => {
    const verifier = new LeafVerifier(leaves, body.length);
    feed(verifier, body.subarray(0, MiB + 5), 960 * 1024);
    expect(verifier.verified).toBe(MiB);
    feed(verifier, body.subarray(MiB + 5), 960 * 1024);
    expect(verifier.verified).toBe(3 * MiB);
    verifier.finish();
    expect(verifier.verified).toBe(body.length);
  });

  it.each([0, 1, 2, 3])('rejects a flipped bit in leaf %i, naming the leaf, the last partial one included', (leaf) => {
    const bad = Buffer.from(body);
    const at = leaf * MiB + (leaf === 3 ? 999 : 12345);
    bad[at]! ^= 0x10;
    const verifier = new LeafVerifier(leaves, body.length);
    let error: unknown;
    try {
      feed(verifier, bad, 960 * 1024);
      verifier.finish();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LeafMismatch);
    expect((error as LeafMismatch).index).toBe(leaf);
    expect((error as LeafMismatch).start).toBe(leaf * LEAF_BYTES);
    expect(verifier.verified).toBe(leaf * MiB); // every leaf before it stays proven
  });

  it('resumes from a leaf boundary', () => {
    const verifier = new LeafVerifier(leaves, body.length, 2 * MiB);
    expect(verifier.verified).toBe(2 * MiB);
    feed(verifier, body.subarray(2 * MiB), 300_000);
    verifier.finish();
    expect(verifier.verified).toBe(body.length);
  });

  it('refuses to resume in the middle of a leaf, where the bytes before could not be proven', () => {
    expect(() => new LeafVerifier(leaves, body.length, MiB + 1)).toThrow(RangeError);
  });

  it('takes a resume with every byte already proven', () => {
    const verifier = new LeafVerifier(leaves, body.length, body.length);
    verifier.finish();
    expect(verifier.verified).toBe(body.length);
  });

  it('rejects bytes past the end as a leaf that is not there', () => {
    const verifier = new LeafVerifier(leaves, body.length);
    feed(verifier, body, MiB);
    expect(() => {
      verifier.update(Buffer.alloc(MiB));
    }).toThrow(LeafMismatch);
  });

  it('refuses a leaf list that does not fit the size', () => {
    expect(() => new LeafVerifier(leaves.subarray(32), body.length)).toThrow(RangeError);
  });
});
