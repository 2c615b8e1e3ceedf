import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityFile, type Identity } from '../../../src/identity/identity.js';
import type { PublicKey } from '../../../src/identity/public-key.js';
import { CloseCode, type CloseCodeValue } from '../../../src/wire/close-codes.js';
import { FrameType, encodeFrame } from '../../../src/wire/frame.js';
import { Handshake, type HandshakeStep, type Role } from '../../../src/secure/handshake.js';
import { applyMutations, expectOnlyViolation, mutationArb, nativeMemoryReleaser } from '../_support/fuzz.js';
import { ALL_KEY_SPECS, KeyDir } from '../_support/keys.js';

/**
 * The handshake faces whatever a stranger on the network sends. Whatever it is, receive()
 * must resolve or reject with a ProtocolViolation (never a TypeError, RangeError or native
 * assertion), and it may complete only with the genuine, trusted peer.
 */

let keyDir: KeyDir;
/** The genuine peers: `alice` initiates, `bob` responds; each trusts the other. */
let alice: Identity;
let bob: Identity;
/** Also trusted by bob, but never the one talking: announcing carol's key must not get anyone in. */
let carol: Identity;
/** Trusted by nobody. */
let mallory: Identity;
let aliceEcdsa: Identity;
let aliceRsa: Identity;

const spec = (label: string) => ALL_KEY_SPECS.find((s) => s.label === label)!;

beforeAll(async () => {
  keyDir = new KeyDir();
  const load = (label: string, name: string) => loadIdentityFile(keyDir.generate(spec(label), { name }).path);
  alice = await load('ed25519', 'alice');
  aliceEcdsa = await load('ecdsa-256', 'alice-ec');
  aliceRsa = await load('rsa-2048', 'alice-rsa');
  bob = await load('ed25519', 'bob');
  carol = await load('ecdsa-384', 'carol');
  mallory = await load('ed25519', 'mallory');
});

afterAll(() => keyDir?.remove());

/** Every close code the handshake may legitimately refuse with. */
const HANDSHAKE_CODES: readonly CloseCodeValue[] = [
  CloseCode.untrusted,
  CloseCode.badSignature,
  CloseCode.unsupportedVersion,
  CloseCode.malformedFrame,
  CloseCode.selfConnection,
  CloseCode.notAuthenticated,
];

function handshake(role: Role, identity: Identity, trusts: Identity[]): Handshake {
  const trusted = new Map(trusts.map((id) => [id.publicKey.fingerprint, { name: '' }]));
  return new Handshake({
    role,
    identity,
    name: role,
    checkTrust: async (key: PublicKey) => trusted.get(key.fingerprint),
  });
}

/** Bob, responding, trusts alice (any of her keys) and carol. */
const bobSide = (): Handshake => handshake('responder', bob, [alice, aliceEcdsa, aliceRsa, carol]);

/** receive() that turns a refusal into `undefined` after checking it is only a ProtocolViolation. */
async function receiveChecked(hs: Handshake, message: Buffer): Promise<HandshakeStep | undefined> {
  try {
    return await hs.receive(message);
  } catch (err) {
    expectOnlyViolation(err, HANDSHAKE_CODES);
    return undefined;
  }
}

/** Field values a mutation may put in a header: other peers' real keys among them. */
const fieldValues = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(
      ...[alice, bob, carol, mallory, aliceEcdsa].map((id) => id.publicKey.blob.toString('base64')),
      Buffer.alloc(32).toString('base64'),
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'rsa-sha2-512',
      'ssh-rsa',
      '',
      '=',
      'AAAA====',
    ),
    fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64')),
    fc.integer(),
  );

const HELLO_KEYS = ['protocol', 'version', 'name', 'key', 'eph', 'nonce'] as const;
const AUTH_KEYS = ['alg', 'sig'] as const;

const aliceKey = fc.constantFrom<[string, () => Identity]>(['ed25519', () => alice], ['ecdsa', () => aliceEcdsa], ['rsa', () => aliceRsa]);

describe('fuzz: Handshake.receive', () => {
  const release = nativeMemoryReleaser(300);

  it('arbitrary bytes as the first message, to either role: resolves or ProtocolViolation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (bytes, asResponder) => {
        await release();
        const hs = asResponder ? bobSide() : handshake('initiator', alice, [bob]);
        const step = await receiveChecked(hs, Buffer.from(bytes));
        expect(step?.result).toBeUndefined();
      }),
      { numRuns: 1500 },
    );
  });

  it('arbitrary bytes after a genuine HELLO: never completes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
          fc
            .dictionary(fc.constantFrom('alg', 'sig', 'x'), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.base64String({ maxLength: 120 })))
            .map((h) => encodeFrame(FrameType.auth, h)),
        ),
        async (message) => {
          await release();
          const initiator = handshake('initiator', alice, [bob]);
          const responder = bobSide();
          expect(await receiveChecked(responder, initiator.hello())).toBeDefined();
          const step = await receiveChecked(responder, message);
          expect(step?.result).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a mutated HELLO: refused, or the handshake still ends only with the genuine peer', async () => {
    await fc.assert(
      fc.asyncProperty(
        aliceKey,
        fc.array(mutationArb(HELLO_KEYS, fieldValues()), { minLength: 1, maxLength: 4 }),
        async ([, aliceId], mutations) => {
          await release();
          const initiator = handshake('initiator', aliceId(), [bob]);
          const responder = bobSide();
          const original = initiator.hello();
          const mutated = applyMutations(original, mutations);
          const first = await receiveChecked(responder, mutated);
          if (first === undefined) return;
          expect(first.result).toBeUndefined();
          expect(first.send.map((m) => m[0])).toEqual([FrameType.auth]);
          // Bob took the HELLO; now the genuine AUTH (signed over the original HELLO) arrives.
          const auth = (await initiator.receive(responder.hello())).send[0]!;
          const second = await receiveChecked(responder, auth);
          if (second?.result === undefined) {
            // Refused: bob's transcript holds the mutated HELLO, so the signature cannot match.
            expect(mutated.equals(original)).toBe(false);
            return;
          }
          // Completed: only possible when nothing that matters changed, and only with alice.
          expect(mutated.equals(original)).toBe(true);
          expect(second.result.peerKey.fingerprint).toBe(aliceId().publicKey.fingerprint);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('a mutated AUTH: refused, or completes only with the genuine peer and a working channel', async () => {
    await fc.assert(
      fc.asyncProperty(
        aliceKey,
        fc.array(mutationArb(AUTH_KEYS, fieldValues()), { minLength: 1, maxLength: 4 }),
        async ([, aliceId], mutations) => {
          await release();
          const initiator = handshake('initiator', aliceId(), [bob]);
          const responder = bobSide();
          const bobAuth = (await responder.receive(initiator.hello())).send[0]!;
          const aliceAuth = (await initiator.receive(responder.hello())).send[0]!;
          const mutated = applyMutations(aliceAuth, mutations);
          const step = await receiveChecked(responder, mutated);
          if (step?.result === undefined) return;
          expect(step.result.peerKey.fingerprint).toBe(aliceId().publicKey.fingerprint);
          // The channel it set up is the genuine one: alice's side agrees with it.
          const aliceDone = (await initiator.receive(bobAuth)).result!;
          expect(step.result.opener.open(aliceDone.sealer.seal(Buffer.from('ping'))).toString()).toBe('ping');
          expect(aliceDone.opener.open(step.result.sealer.seal(Buffer.from('pong'))).toString()).toBe('pong');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random sequences of genuine, replayed, foreign and mutated messages: only ProtocolViolations, only alice', async () => {
    const mutation = mutationArb([...HELLO_KEYS, ...AUTH_KEYS], fieldValues());
    const pick = fc.record({
      source: fc.constantFrom('aliceHello', 'aliceAuth', 'malloryHello', 'malloryAuth', 'carolHello', 'staleAuth', 'data'),
      mutations: fc.array(mutation, { maxLength: 2 }),
    });
    // Messages that do not depend on bob's HELLO are made once. Mallory even trusts bob, but
    // bob does not trust her; her AUTH is a real signature over her own session with a bob.
    const once = async (who: Identity): Promise<{ hello: Buffer; auth: Buffer }> => {
      const i = handshake('initiator', who, [bob]);
      const r = bobSide();
      await receiveChecked(r, i.hello());
      return { hello: i.hello(), auth: (await i.receive(r.hello())).send[0]! };
    };
    const stale = await once(alice); // a valid signature by alice, over another transcript
    const fromMallory = await once(mallory);
    const carolHello = handshake('initiator', carol, [bob]).hello();
    const data = encodeFrame(FrameType.offer, { id: 'x' });
    await fc.assert(
      fc.asyncProperty(fc.array(pick, { minLength: 1, maxLength: 5 }), async (picks) => {
        await release();
        const responder = bobSide();
        const aliceHs = handshake('initiator', alice, [bob]);
        const aliceAuth = (await aliceHs.receive(responder.hello())).send[0]!;
        const sources: Record<string, Buffer> = {
          aliceHello: aliceHs.hello(),
          aliceAuth,
          malloryHello: fromMallory.hello,
          malloryAuth: fromMallory.auth,
          carolHello,
          staleAuth: stale.auth,
          data,
        };
        const sent: Buffer[] = [];
        for (const { source, mutations } of picks) {
          const message = applyMutations(sources[source]!, mutations);
          sent.push(message);
          const step = await receiveChecked(responder, message);
          if (step === undefined) return; // the connection would close here
          if (step.result !== undefined) {
            // The only way in: alice's exact HELLO, then alice's exact AUTH.
            expect(step.result.peerKey.fingerprint).toBe(alice.publicKey.fingerprint);
            expect(sent.some((m) => m.equals(sources['aliceHello']!))).toBe(true);
            expect(message.equals(aliceAuth) || decodeAuthEquals(message, aliceAuth)).toBe(true);
            return;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** True when two AUTH frames carry the same algorithm and signature bytes (base64 may differ in spelling). */
function decodeAuthEquals(a: Buffer, b: Buffer): boolean {
  const header = (m: Buffer): Record<string, unknown> => JSON.parse(m.toString('utf8', 5, 5 + m.readUInt32BE(1))) as Record<string, unknown>;
  try {
    const ha = header(a);
    const hb = header(b);
    return (
      a[0] === b[0] &&
      ha['alg'] === hb['alg'] &&
      Buffer.from(String(ha['sig']), 'base64').equals(Buffer.from(String(hb['sig']), 'base64'))
    );
  } catch {
    return false;
  }
}
