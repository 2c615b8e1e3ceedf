import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ProtocolViolation, type CloseCodeValue } from '../../../src/wire/close-codes.js';
import { decodeFrame, encodeFrame } from '../../../src/wire/frame.js';

/** Unit-test support for property-based fuzzing. */

/**
 * Fails unless `err` is exactly a ProtocolViolation (not a TypeError, RangeError, assertion
 * from a native binding, …) with one of the allowed close codes.
 */
export function expectOnlyViolation(err: unknown, allowed: readonly CloseCodeValue[]): asserts err is ProtocolViolation {
  if (!(err instanceof ProtocolViolation) || err.constructor !== ProtocolViolation) {
    throw new Error(`expected only ProtocolViolation, got ${String(err)}${err instanceof Error ? `\n${err.stack}` : ''}`);
  }
  expect(allowed).toContain(err.closeCode);
  expect(typeof err.reason).toBe('string');
}

/** One edit to a message, applied by `applyMutation`. Positions are taken modulo the length. */
export type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'field'; key: string; value: unknown }
  | { op: 'dropField'; key: string }
  | { op: 'base64Field'; key: string; edit: Mutation };

/** Byte-level edits: flips, overwrites, insertions, deletions, truncation, extension. */
export function byteMutationArb(): fc.Arbitrary<Mutation> {
  const position = fc.nat({ max: 1 << 16 });
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: position, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ op: fc.constant('set' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ op: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: position }),
    fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  );
}

/** Byte edits plus header edits of a frame: set, drop, or byte-edit (base64) a field. */
export function mutationArb(fieldKeys: readonly string[], fieldValues: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> {
  const byteEdit = byteMutationArb();
  const key = fc.oneof(fc.constantFrom(...fieldKeys), fc.string({ maxLength: 6 }));
  return fc.oneof(
    { weight: 3, arbitrary: byteEdit },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('field' as const), key, value: fieldValues }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('dropField' as const), key }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('base64Field' as const), key: fc.constantFrom(...fieldKeys), edit: byteEdit }) },
  );
}

function editBytes(input: Buffer, m: Mutation): Buffer {
  const n = input.length;
  const at = (p: number, max = n): number => (max === 0 ? 0 : p % max);
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = Buffer.from(input);
      out[at(m.at)]! ^= m.mask;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = Buffer.from(input);
      out[at(m.at)] = m.value;
      return out;
    }
    case 'insert': {
      const i = at(m.at, n + 1);
      return Buffer.concat([input.subarray(0, i), Buffer.from(m.bytes), input.subarray(i)]);
    }
    case 'delete': {
      const i = at(m.at);
      return Buffer.concat([input.subarray(0, i), input.subarray(i + m.count)]);
    }
    case 'truncate':
      return input.subarray(0, at(m.at));
    case 'extend':
      return Buffer.concat([input, Buffer.from(m.bytes)]);
    default:
      return input;
  }
}

/** Applies one mutation; field edits only apply while the message still decodes as a frame. */
export function applyMutation(message: Buffer, m: Mutation): Buffer {
  if (m.op !== 'field' && m.op !== 'dropField' && m.op !== 'base64Field') return editBytes(message, m);
  let frame;
  try {
    frame = decodeFrame(message);
  } catch {
    return message;
  }
  const header: Record<string, unknown> = { ...frame.header };
  if (m.op === 'field') header[m.key] = m.value;
  else if (m.op === 'dropField') delete header[m.key];
  else {
    const value = header[m.key];
    if (typeof value !== 'string') return message;
    header[m.key] = editBytes(Buffer.from(value, 'base64'), m.edit).toString('base64');
  }
  try {
    return encodeFrame(frame.type, header, frame.body);
  } catch {
    return message; // a header over the size limit: leave the message as it was
  }
}

export function applyMutations(message: Buffer, mutations: readonly Mutation[]): Buffer {
  return mutations.reduce(applyMutation, message);
}

/**
 * Every Handshake, Sealer and Opener holds sodium_malloc'd memory: guarded pages, four
 * memory mappings each, freed only when the garbage collector finalizes the buffer. The JS
 * heap barely grows meanwhile, so thousands of runs would exhaust vm.max_map_count (65530)
 * and abort the worker long before V8 saw a reason to collect. Fuzz loops call this every
 * few hundred runs: a full GC, then a turn of the event loop for the finalizers.
 */
const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

export async function releaseNativeMemory(): Promise<void> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
}

/** Calls releaseNativeMemory() every `every` calls. */
export function nativeMemoryReleaser(every = 250): () => Promise<void> {
  let calls = 0;
  return async () => {
    if (++calls % every === 0) await releaseNativeMemory();
  };
}
