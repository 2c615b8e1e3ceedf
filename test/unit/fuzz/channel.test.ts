import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { Opener, SEAL_OVERHEAD } from '../../../src/secure/channel.js';
import { randomBytes } from '../../../src/secure/sodium.js';
import { channel } from '../_support/channel.js';
import { applyMutations, byteMutationArb, expectOnlyViolation, nativeMemoryReleaser } from '../_support/fuzz.js';

/** Opens `message`; returns the plaintext, or undefined after checking the refusal is exactly 4008. */
function openChecked(opener: Opener, message: Buffer): Buffer | undefined {
  try {
    return opener.open(message);
  } catch (err) {
    expectOnlyViolation(err, [CloseCode.decryptFailed]);
    return undefined;
  }
}

const release = nativeMemoryReleaser(500);

describe('fuzz: Opener.open', () => {
  it('arbitrary bytes, at any point in a stream: ProtocolViolation 4008, nothing else', async () => {
    const ends = channel();
    const opener = ends.newOpener();
    // Bring the stream to some real position first.
    for (let i = 0; i < 3; i++) opener.open(ends.sealer.seal(Buffer.from(`real ${i}`)));
    const fresh = ends.newOpener();
    const strangers = channel().newOpener();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        await release();
        for (const o of [opener, fresh, strangers]) {
          expect(openChecked(o, Buffer.from(bytes))).toBeUndefined();
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary bytes to openInPlace: the same', () => {
    const opener = channel().newOpener();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          opener.openInPlace(Buffer.from(bytes));
        } catch (err) {
          expectOnlyViolation(err, [CloseCode.decryptFailed]);
          return;
        }
        throw new Error('random bytes opened');
      }),
      { numRuns: 2000 },
    );
  });

  it('a genuine sealed message with random edits: opens only when the bytes are unchanged', async () => {
    const edits = fc.array(byteMutationArb(), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 3 }), edits, async (plain, position, mutations) => {
        await release();
        const ends = channel();
        const opener = ends.newOpener();
        // The edited message is the (position+1)-th of its stream.
        for (let i = 0; i < position; i++) opener.open(ends.sealer.seal(Buffer.from([i])));
        const sealed = ends.sealer.seal(Buffer.from(plain));
        const edited = applyMutations(sealed, mutations);
        const opened = openChecked(opener, edited);
        if (edited.equals(sealed)) expect(opened?.equals(Buffer.from(plain))).toBe(true);
        else expect(opened).toBeUndefined();
      }),
      { numRuns: 1500 },
    );
  });
});

/**
 * Cut points for a byte stream of `total` bytes with message boundaries at `boundaries`:
 * some boundaries kept, some dropped (two messages glued), some moved a little or a lot
 * (a message split or spilling into the next), plus cuts anywhere.
 */
function cutsArb(boundaries: number[], total: number): fc.Arbitrary<number[]> {
  const perBoundary = fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constant<number | null>(0) },
      { weight: 1, arbitrary: fc.constant<number | null>(null) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: -100, max: 100 }) },
    ),
    { minLength: boundaries.length, maxLength: boundaries.length },
  );
  const extra = fc.array(fc.integer({ min: 1, max: Math.max(1, total - 1) }), { maxLength: 3 });
  return fc.tuple(perBoundary, extra).map(([shifts, more]) => {
    const cuts = new Set<number>();
    boundaries.forEach((b, i) => {
      const shift = shifts[i];
      if (shift !== null && shift !== undefined) cuts.add(b + shift);
    });
    for (const c of more) cuts.add(c);
    return [...cuts].filter((c) => c > 0 && c < total).sort((a, b) => a - b);
  });
}

describe('fuzz: a sealed stream cut into arbitrary chunks', () => {
  const streamArb = fc
    .array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 8 })
    .chain((sizes) => {
      const lengths = sizes.map((n) => n + SEAL_OVERHEAD);
      const boundaries: number[] = [];
      let total = 0;
      for (const length of lengths) {
        total += length;
        boundaries.push(total);
      }
      return fc.record({
        sizes: fc.constant(sizes),
        cuts: cutsArb(boundaries.slice(0, -1), total),
      });
    });

  it('opens exactly the chunks that are whole original messages, in order, and refuses (4008) at the first that is not', async () => {
    let exactStreams = 0;
    let refusedStreams = 0;
    await fc.assert(
      fc.asyncProperty(streamArb, async ({ sizes, cuts }) => {
        await release();
        const ends = channel();
        const plaintexts = sizes.map((n) => randomBytes(n));
        const sealed = plaintexts.map((p) => ends.sealer.seal(p));
        const stream = Buffer.concat(sealed);
        const edges = [0, ...cuts, stream.length];
        const chunks = edges.slice(1).map((end, i) => stream.subarray(edges[i], end));

        const opener = ends.newOpener();
        for (let i = 0; i < chunks.length; i++) {
          const chunk = chunks[i]!;
          const opened = openChecked(opener, chunk);
          const original = sealed[i];
          if (original !== undefined && chunk.equals(original)) {
            // A whole message in its place: opens to its plaintext.
            expect(opened?.equals(plaintexts[i]!)).toBe(true);
            continue;
          }
          // Glued, split, shifted: refused, and the stream ends here (the connection closes).
          expect(opened).toBeUndefined();
          refusedStreams++;
          return;
        }
        // Every chunk was a whole message: the cuts were exactly the original boundaries.
        expect(chunks.length).toBe(sealed.length);
        exactStreams++;
      }),
      { numRuns: 1500 },
    );
    // Both outcomes were exercised many times.
    expect(exactStreams).toBeGreaterThan(50);
    expect(refusedStreams).toBeGreaterThan(50);
  });

  it('two messages glued together, or one split in two, never open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 300 }), fc.nat({ max: 300 }), fc.nat(), async (a, b, splitAt) => {
        await release();
        const ends = channel();
        const first = ends.sealer.seal(randomBytes(a));
        const second = ends.sealer.seal(randomBytes(b));
        expect(openChecked(ends.newOpener(), Buffer.concat([first, second]))).toBeUndefined();
        const at = 1 + (splitAt % (first.length - 1));
        const opener = ends.newOpener();
        expect(openChecked(opener, first.subarray(0, at))).toBeUndefined();
        expect(openChecked(ends.newOpener(), first.subarray(at))).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
});
