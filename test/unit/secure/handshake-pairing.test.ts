import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityFile, type Identity } from '../../../src/identity/identity.js';
import { CloseCode, ProtocolViolation } from '../../../src/wire/close-codes.js';
import { FrameType, decodeFrame } from '../../../src/wire/frame.js';
import { Handshake, type Role } from '../../../src/secure/handshake.js';
import { editHello, expectViolation, pump, trusting } from '../_support/handshake.js';
import { ALL_KEY_SPECS, KeyDir } from '../_support/keys.js';

/**
 * The handshake in pairing mode (docs/PROTOCOL.md §9.1): the initiator's HELLO asks for it,
 * the responder lets it through its failed trust check only when it offers pairing, and both
 * signatures are still made and checked.
 */
let keyDir: KeyDir;
let alice: Identity;
let bob: Identity;

beforeAll(async () => {
  keyDir = new KeyDir();
  const ed = ALL_KEY_SPECS.find((s) => s.label === 'ed25519')!;
  alice = await loadIdentityFile(keyDir.generate(ed, { name: 'alice' }).path);
  bob = await loadIdentityFile(keyDir.generate(ed, { name: 'bob' }).path);
});
afterAll(() => keyDir?.remove());

const admitted: { fingerprint: string; name: string }[] = [];
function make(role: Role, identity: Identity, name: string, options: { pairing?: boolean; offersPairing?: boolean; trusts?: [Identity, string][]; admit?: () => void } = {}): Handshake {
  return new Handshake({
    role,
    identity,
    name,
    checkTrust: trusting(options.trusts ?? []),
    ...(options.pairing === true ? { pairing: true } : {}),
    ...(options.offersPairing === true
      ? {
          admitPairing: (peer: { fingerprint: string; name: string }) => {
            options.admit?.();
            admitted.push(peer);
          },
        }
      : {}),
  });
}

describe('Handshake in pairing mode', () => {
  it('puts "pair": true in the initiator HELLO only when pairing', () => {
    expect(decodeFrame(make('initiator', alice, 'alice', { pairing: true }).hello()).header['pair']).toBe(true);
    expect(decodeFrame(make('initiator', alice, 'alice').hello()).header).not.toHaveProperty('pair');
    // A responder never asks: the mode is the initiator's to choose.
    expect(decodeFrame(make('responder', bob, 'bob', { pairing: true }).hello()).header).not.toHaveProperty('pair');
  });

  it('completes between two strangers, both signatures checked, both results marked pairing', async () => {
    admitted.length = 0;
    const result = await pump(make('initiator', alice, 'alice', { pairing: true }), make('responder', bob, 'bob', { offersPairing: true }));
    expect(result.initiator.pairing).toBe(true);
    expect(result.responder.pairing).toBe(true);
    expect(result.initiator.peerKey.fingerprint).toBe(bob.publicKey.fingerprint);
    expect(result.responder.peerKey.fingerprint).toBe(alice.publicKey.fingerprint);
    // Pairing names are the announced ones: there is no trust entry to name them.
    expect(result.responder.peerName).toBe('alice');
    expect(admitted).toEqual([{ fingerprint: alice.publicKey.fingerprint, name: 'alice' }]);
    expect(result.sentByInitiator.map((m) => decodeFrame(m).type)).toEqual([FrameType.hello, FrameType.auth]);
    expect(result.sentByResponder.map((m) => decodeFrame(m).type)).toEqual([FrameType.hello, FrameType.auth]);
    // The channel works like any other.
    const sealed = result.initiator.sealer.seal(Buffer.from('pair commit'));
    expect(result.responder.opener.open(sealed).toString()).toBe('pair commit');
  });

  it('is still a pairing connection when the responder already trusts the key (answered in-band)', async () => {
    const result = await pump(
      make('initiator', alice, 'alice', { pairing: true }),
      make('responder', bob, 'bob', { offersPairing: true, trusts: [[alice, 'alice-laptop']] }),
    );
    expect(result.responder.pairing).toBe(true);
  });

  it('is refused with 4001 by a responder that does not offer pairing', async () => {
    const responder = make('responder', bob, 'bob');
    await expectViolation(() => responder.receive(make('initiator', alice, 'alice', { pairing: true }).hello()), CloseCode.untrusted);
  });

  it('is an ordinary session for a responder without pairing that trusts the key (old daemons)', async () => {
    const result = await pump(make('initiator', alice, 'alice', { pairing: true }), make('responder', bob, 'bob', { trusts: [[alice, '']] }));
    expect(result.responder.pairing).toBe(false);
    expect(result.initiator.pairing).toBe(true); // the pairing session then fails on the first clip frame (4005)
  });

  it('refuses before signing anything when admission says no (1013)', async () => {
    const responder = make('responder', bob, 'bob', {
      offersPairing: true,
      admit: () => {
        throw new ProtocolViolation(CloseCode.tryAgainLater, 'too many pairing requests pending; try again later');
      },
    });
    await expectViolation(() => responder.receive(make('initiator', alice, 'alice', { pairing: true }).hello()), CloseCode.tryAgainLater);
  });

  it('does not turn an ordinary HELLO into pairing, whatever the responder offers', async () => {
    const responder = make('responder', bob, 'bob', { offersPairing: true });
    await expectViolation(() => responder.receive(make('initiator', alice, 'alice').hello()), CloseCode.untrusted);
  });

  it('ignores "pair" from a responder: an initiator not pairing still checks trust', async () => {
    const initiator = make('initiator', alice, 'alice');
    const bobHello = editHello(make('responder', bob, 'bob').hello(), (h) => {
      h['pair'] = true;
    });
    await expectViolation(() => initiator.receive(bobHello), CloseCode.untrusted);
  });

  it('refuses a "pair" field that is not a boolean with 4005', async () => {
    const responder = make('responder', bob, 'bob', { offersPairing: true });
    const hello = editHello(make('initiator', alice, 'alice').hello(), (h) => {
      h['pair'] = 'yes';
    });
    await expectViolation(() => responder.receive(hello), CloseCode.malformedFrame);
  });

  it('still refuses its own key (4006) in pairing mode', async () => {
    const responder = make('responder', alice, 'alice', { offersPairing: true });
    await expectViolation(() => responder.receive(make('initiator', alice, 'alice', { pairing: true }).hello()), CloseCode.selfConnection);
  });

  it('binds the flag into the transcript: stripping it breaks the signatures (4002)', async () => {
    // A man in the middle who removes "pair" to turn a pairing dial into a plain one gets
    // nowhere: the responder signs over what it received, the initiator over what it sent.
    await expectViolation(
      () =>
        pump(make('initiator', alice, 'alice', { pairing: true }), make('responder', bob, 'bob', { trusts: [[alice, '']] }), {
          toResponder: (m) =>
            decodeFrame(m).type === FrameType.hello
              ? editHello(m, (h) => {
                  delete h['pair'];
                })
              : m,
        }),
      CloseCode.badSignature,
    );
  });
});
