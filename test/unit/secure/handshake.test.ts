import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityFile, type Identity } from '../../../src/identity/identity.js';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame } from '../../../src/wire/frame.js';
import {
  MAX_HANDSHAKE_MESSAGE_BYTES,
  MAX_NAME_LENGTH,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  type HandshakeResult,
} from '../../../src/secure/handshake.js';
import { editFrame, editHello, expectViolation, pair, pump, pumpPair, side } from '../_support/handshake.js';
import { ALL_KEY_SPECS, KeyDir, type KeySpec } from '../_support/keys.js';

let keyDir: KeyDir;
const ids: Record<'ed' | 'ed2' | 'rsa' | 'ec' | 'mallory', Identity> = {} as never;
let rsa1024Blob: Buffer | undefined;

const spec = (label: string): KeySpec => ALL_KEY_SPECS.find((s) => s.label === label)!;

beforeAll(async () => {
  keyDir = new KeyDir();
  ids.ed = await loadIdentityFile(keyDir.generate(spec('ed25519'), { name: 'ed' }).path);
  ids.ed2 = await loadIdentityFile(keyDir.generate(spec('ed25519'), { name: 'ed2' }).path);
  ids.rsa = await loadIdentityFile(keyDir.generate(spec('rsa-2048'), { name: 'rsa' }).path);
  ids.ec = await loadIdentityFile(keyDir.generate(spec('ecdsa-256'), { name: 'ec' }).path);
  ids.mallory = await loadIdentityFile(keyDir.generate(spec('ed25519'), { name: 'mallory' }).path);
  try {
    const small = keyDir.generate({ label: 'rsa-1024', type: 'rsa', bits: 1024, sshType: 'ssh-rsa' });
    rsa1024Blob = Buffer.from(small.pubLine.split(' ')[1]!, 'base64');
  } catch {
    // ssh-keygen refused to make it: that case is skipped.
  }
});

afterAll(() => keyDir?.remove());

/** Seals `messages` with `from`'s sealer and opens them, in order, with `to`'s opener. */
function roundTrip(from: HandshakeResult, to: HandshakeResult, messages: Buffer[]): Buffer[] {
  return messages.map((m) => from.sealer.seal(m)).map((c) => to.opener.open(c));
}

const someMessages = (label: string): Buffer[] => [
  Buffer.from(`${label} one`),
  Buffer.alloc(0),
  Buffer.from(`${label} three`),
  Buffer.alloc(70_000, 0x5a),
  Buffer.from(`${label} one`),
];

describe('Handshake: success', () => {
  const combos: [string, keyof typeof ids, keyof typeof ids][] = [
    ['ed25519 ↔ ed25519', 'ed', 'ed2'],
    ['ed25519 → rsa', 'ed', 'rsa'],
    ['rsa → ed25519', 'rsa', 'ed'],
    ['ecdsa → ed25519', 'ec', 'ed'],
    ['ed25519 → ecdsa', 'ed', 'ec'],
    ['rsa → ecdsa', 'rsa', 'ec'],
  ];

  it.each(combos)('%s completes with matching keys and transcript', async (_label, a, b) => {
    const { initiator, responder } = pair(ids[a], ids[b]);
    const out = await pump(initiator, responder);

    expect(out.initiator.peerKey.fingerprint).toBe(ids[b].publicKey.fingerprint);
    expect(out.responder.peerKey.fingerprint).toBe(ids[a].publicKey.fingerprint);
    expect(out.initiator.peerKey.type).toBe(ids[b].publicKey.type);

    // Each side's sealer talks to the other side's opener, both ways, message after message.
    const fromInitiator = someMessages('i→r');
    const fromResponder = someMessages('r→i');
    expect(roundTrip(out.initiator, out.responder, fromInitiator)).toEqual(fromInitiator);
    expect(roundTrip(out.responder, out.initiator, fromResponder)).toEqual(fromResponder);
    expect(roundTrip(out.initiator, out.responder, fromInitiator)).toEqual(fromInitiator);

    expect(out.initiator.transcriptHash.length).toBe(32);
    expect(out.initiator.transcriptHash.equals(out.responder.transcriptHash)).toBe(true);

    // Exactly HELLO then AUTH each way.
    expect(out.sentByInitiator.map((m) => m[0])).toEqual([FrameType.hello, FrameType.auth]);
    expect(out.sentByResponder.map((m) => m[0])).toEqual([FrameType.hello, FrameType.auth]);
  });

  it('sends a well-formed HELLO', () => {
    const hs = side('initiator', ids.ed, 'alpha', []);
    const frame = decodeFrame(hs.hello());
    expect(frame.type).toBe(FrameType.hello);
    expect(frame.header['protocol']).toBe(PROTOCOL_NAME);
    expect(frame.header['version']).toBe(PROTOCOL_VERSION);
    expect(PROTOCOL_VERSION).toBe(3); // ids over BLAKE3 leaf hashes, carried in the OFFER (docs/PROTOCOL.md §8)
    expect(frame.header['name']).toBe('alpha');
    expect(Buffer.from(frame.header['key'] as string, 'base64').equals(ids.ed.publicKey.blob)).toBe(true);
    expect(Buffer.from(frame.header['eph'] as string, 'base64').length).toBe(32);
    expect(Buffer.from(frame.header['nonce'] as string, 'base64').length).toBe(32);
    expect(hs.hello().equals(hs.hello())).toBe(true);
  });

  it('truncates a long announced name to MAX_NAME_LENGTH so the peer accepts it', async () => {
    const long = 'n'.repeat(MAX_NAME_LENGTH + 20);
    const { initiator, responder } = pair(ids.ed, ids.ec, { a: long, b: 'beta' });
    const out = await pump(initiator, responder);
    expect(out.responder.peerName).toBe('n'.repeat(MAX_NAME_LENGTH));
  });

  it('uses the announced name, unless the trust store names the key', async () => {
    const initiator = side('initiator', ids.ed, 'alpha', [[ids.ec, 'my desktop']]);
    const responder = side('responder', ids.ec, 'beta', [[ids.ed, '']]);
    const out = await pump(initiator, responder);
    expect(out.initiator.peerName).toBe('my desktop');
    expect(out.responder.peerName).toBe('alpha');
  });

  it('gives fresh session keys and transcripts every session', async () => {
    const first = await pumpPair(ids.ed, ids.rsa);
    const second = await pumpPair(ids.ed, ids.rsa);
    expect(first.initiator.transcriptHash.equals(second.initiator.transcriptHash)).toBe(false);
    // A message sealed in one session opens in that session only.
    const sealed = first.initiator.sealer.seal(Buffer.from('hello'));
    await expectViolation(() => second.responder.opener.open(sealed), CloseCode.decryptFailed);
    expect(first.responder.opener.open(sealed).toString()).toBe('hello');
  });

  it("a sealed message does not open with the wrong direction's opener", async () => {
    const out = await pumpPair(ids.ed, ids.ec);
    // The initiator's own opener is keyed for what the responder sends, not for what it sends itself.
    await expectViolation(() => out.initiator.opener.open(out.initiator.sealer.seal(Buffer.from('x'))), CloseCode.decryptFailed);
    await expectViolation(() => out.responder.opener.open(out.responder.sealer.seal(Buffer.from('y'))), CloseCode.decryptFailed);
  });

  it('records who the peer claims to be from its HELLO', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    expect(responder.claimed).toBeUndefined();
    await responder.receive(initiator.hello());
    expect(responder.claimed).toEqual({ fingerprint: ids.ed.publicKey.fingerprint, name: 'alpha' });
  });

  it('refuses any message after the handshake finished', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const out = await pump(initiator, responder);
    await expectViolation(() => initiator.receive(out.sentByResponder[1]!), CloseCode.malformedFrame);
    await expectViolation(() => responder.receive(encodeFrame(FrameType.offer, {})), CloseCode.malformedFrame);
  });

  it('the AUTH frame carries the signature algorithm and the signature', async () => {
    const out = await pumpPair(ids.ed, ids.ec);
    const initiatorAuth = decodeFrame(out.sentByInitiator[1]!);
    const responderAuth = decodeFrame(out.sentByResponder[1]!);
    expect(initiatorAuth.type).toBe(FrameType.auth);
    expect(initiatorAuth.header['alg']).toBe('ssh-ed25519');
    expect(responderAuth.header['alg']).toBe('ecdsa-sha2-nistp256');
    expect(Buffer.from(initiatorAuth.header['sig'] as string, 'base64').length).toBe(64);
    expect(initiatorAuth.body.length).toBe(0);
  });

  it('refuses an AUTH with a missing or mistyped alg or sig with 4005', async () => {
    for (const edit of [
      (h: Record<string, unknown>) => delete h['alg'],
      (h: Record<string, unknown>) => delete h['sig'],
      (h: Record<string, unknown>) => (h['alg'] = 7),
      (h: Record<string, unknown>) => (h['alg'] = 'x'.repeat(65)),
      (h: Record<string, unknown>) => (h['sig'] = '***'),
      (h: Record<string, unknown>) => (h['sig'] = ['AAAA']),
    ]) {
      const { initiator, responder } = pair(ids.ed, ids.ec);
      await responder.receive(initiator.hello());
      const auth = (await initiator.receive(responder.hello())).send[0]!;
      await expectViolation(() => responder.receive(editFrame(auth, edit)), CloseCode.malformedFrame);
    }
  });
});

describe('Handshake: refusals', () => {
  it('refuses an untrusted key with 4001, even when the other side trusts us', async () => {
    const initiator = side('initiator', ids.mallory, 'mallory', [[ids.ed, '']]);
    const responder = side('responder', ids.ed, 'beta', [[ids.ec, '']]);
    const err = await expectViolation(() => responder.receive(initiator.hello()), CloseCode.untrusted);
    expect(err.reason).toContain(ids.mallory.publicKey.fingerprint);
    // Who knocked is still known, for the refusal log.
    expect(responder.claimed?.fingerprint).toBe(ids.mallory.publicKey.fingerprint);
  });

  it('refuses when trust is one-sided, on the side that does not trust', async () => {
    const initiator = side('initiator', ids.ed, 'alpha', [[ids.ec, '']]);
    const responder = side('responder', ids.ec, 'beta', []);
    const step = await initiator.receive(responder.hello());
    expect(step.send.map((m) => m[0])).toEqual([FrameType.auth]);
    await expectViolation(() => responder.receive(initiator.hello()), CloseCode.untrusted);
  });

  it('refuses a tampered AUTH signature with 4002', async () => {
    for (const [a, b] of [
      [ids.ed, ids.ec],
      [ids.ed, ids.rsa],
      [ids.rsa, ids.ed],
    ] as const) {
      const { initiator, responder } = pair(a, b);
      await responder.receive(initiator.hello());
      const auth = (await initiator.receive(responder.hello())).send[0]!;
      const header = decodeFrame(auth).header;
      const sig = Buffer.from(header['sig'] as string, 'base64');
      sig[Math.floor(sig.length / 2)]! ^= 0x01;
      const tampered = encodeFrame(FrameType.auth, { ...header, sig: sig.toString('base64') });
      await expectViolation(() => responder.receive(tampered), CloseCode.badSignature);
    }
  });

  it('refuses a valid signature under a different algorithm name with 4002', async () => {
    const { initiator, responder } = pair(ids.rsa, ids.ed);
    await responder.receive(initiator.hello());
    const auth = (await initiator.receive(responder.hello())).send[0]!;
    const header = decodeFrame(auth).header;
    expect(header['alg']).toBe('rsa-sha2-512');
    const relabelled = encodeFrame(FrameType.auth, { ...header, alg: 'ssh-rsa' });
    await expectViolation(() => responder.receive(relabelled), CloseCode.badSignature);
  });

  it('refuses an AUTH replayed from another session with 4002', async () => {
    const recorded = await pumpPair(ids.ed, ids.ec);
    const recordedResponderAuth = recorded.sentByResponder[1]!;
    const recordedInitiatorAuth = recorded.sentByInitiator[1]!;

    // Same two identities, new session: the old AUTHs are valid signatures, but over another transcript.
    const { initiator, responder } = pair(ids.ed, ids.ec);
    await initiator.receive(responder.hello());
    await responder.receive(initiator.hello());
    await expectViolation(() => initiator.receive(recordedResponderAuth), CloseCode.badSignature);
    await expectViolation(() => responder.receive(recordedInitiatorAuth), CloseCode.badSignature);
  });

  it("refuses a peer's AUTH reflected back at it with 4002", async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const auth = (await initiator.receive(responder.hello())).send[0]!;
    await expectViolation(() => initiator.receive(auth), CloseCode.badSignature);
  });

  it('refuses HELLO version 4 with 4003', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const v4 = editHello(initiator.hello(), (h) => (h['version'] = 4));
    const err = await expectViolation(() => responder.receive(v4), CloseCode.unsupportedVersion);
    expect(err.reason).toMatch(/version 4/);
  });

  it('refuses HELLO version 2 (a daemon from before BLAKE3 leaf hashes) with 4003, from either side', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const v2 = editHello(initiator.hello(), (h) => (h['version'] = 2));
    const err = await expectViolation(() => responder.receive(v2), CloseCode.unsupportedVersion);
    expect(err.reason).toMatch(/version 2; this daemon speaks clipsync 3/);
    const fromResponder = editHello(responder.hello(), (h) => (h['version'] = 2));
    await expectViolation(() => pair(ids.ed, ids.ec).initiator.receive(fromResponder), CloseCode.unsupportedVersion);
  });

  it('refuses HELLO version 1 (a daemon from before clips had formats) with 4003, from either side', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const v1 = editHello(initiator.hello(), (h) => (h['version'] = 1));
    const err = await expectViolation(() => responder.receive(v1), CloseCode.unsupportedVersion);
    expect(err.reason).toMatch(/version 1/);
    const fromResponder = editHello(responder.hello(), (h) => (h['version'] = 1));
    await expectViolation(() => pair(ids.ed, ids.ec).initiator.receive(fromResponder), CloseCode.unsupportedVersion);
  });

  it('refuses another protocol name with 4003', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const other = editHello(initiator.hello(), (h) => (h['protocol'] = 'not-clipsync'));
    await expectViolation(() => responder.receive(other), CloseCode.unsupportedVersion);
  });

  it('refuses a connection to itself with 4006', async () => {
    const a = side('initiator', ids.ed, 'me', [[ids.ed, 'me']]);
    const b = side('responder', ids.ed, 'me', [[ids.ed, 'me']]);
    await expectViolation(() => b.receive(a.hello()), CloseCode.selfConnection);
    await expectViolation(() => a.receive(b.hello()), CloseCode.selfConnection);
  });

  it('refuses a connection to itself with 4006 even when the key is not in the trust store', async () => {
    const a = side('initiator', ids.ed, 'me', []);
    const b = side('responder', ids.ed, 'me', []);
    await expectViolation(() => b.receive(a.hello()), CloseCode.selfConnection);
  });

  it('refuses AUTH before HELLO with 4005', async () => {
    const recorded = await pumpPair(ids.ed, ids.ec);
    const { responder } = pair(ids.ed, ids.ec);
    await expectViolation(() => responder.receive(recorded.sentByInitiator[1]!), CloseCode.malformedFrame);
  });

  it('refuses a second HELLO with 4005', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    await responder.receive(initiator.hello());
    await expectViolation(() => responder.receive(initiator.hello()), CloseCode.malformedFrame);
    const other = side('initiator', ids.ed, 'alpha', [[ids.ec, '']]);
    await expectViolation(() => responder.receive(other.hello()), CloseCode.malformedFrame);
  });

  it.each([
    ['offer', FrameType.offer],
    ['want', FrameType.want],
    ['data', FrameType.data],
    ['ack', FrameType.ack],
    ['end', FrameType.end],
    ['cancel', FrameType.cancel],
  ] as const)('refuses a data frame (%s) during the handshake with 4009', async (_name, type) => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    await expectViolation(() => responder.receive(encodeFrame(type, { id: 'x' })), CloseCode.notAuthenticated);
    // ...also after HELLO, before AUTH.
    await responder.receive(initiator.hello());
    await expectViolation(() => responder.receive(encodeFrame(type, { id: 'x' })), CloseCode.notAuthenticated);
  });

  it(`refuses a handshake message over ${MAX_HANDSHAKE_MESSAGE_BYTES} bytes with 4005`, async () => {
    expect(MAX_HANDSHAKE_MESSAGE_BYTES).toBe(8 * 1024);
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const hello = initiator.hello();
    /** The initiator's real HELLO, with an extra field padding it to exactly `size` bytes. */
    const paddedTo = (size: number): Buffer => {
      const base = editHello(hello, (h) => (h['pad'] = '')).length;
      const padded = editHello(hello, (h) => (h['pad'] = 'p'.repeat(size - base)));
      expect(padded.length).toBe(size);
      return padded;
    };
    const err = await expectViolation(() => responder.receive(paddedTo(9 * 1024)), CloseCode.malformedFrame);
    expect(err.reason).toMatch(/limit/);
    await expectViolation(() => responder.receive(paddedTo(MAX_HANDSHAKE_MESSAGE_BYTES + 1)), CloseCode.malformedFrame);
    // Exactly at the limit is fine (unknown header fields are ignored).
    const step = await responder.receive(paddedTo(MAX_HANDSHAKE_MESSAGE_BYTES));
    expect(step.send.map((m) => m[0])).toEqual([FrameType.auth]);
  });

  it('refuses an oversized AUTH with 4005', async () => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    await responder.receive(initiator.hello());
    const auth = (await initiator.receive(responder.hello())).send[0]!;
    const big = Buffer.concat([auth, Buffer.alloc(9 * 1024 - auth.length, 0x20)]); // body bytes after the header
    await expectViolation(() => responder.receive(big), CloseCode.malformedFrame);
  });

  it('refuses a frame of garbage over the limit with 4005, before trying to parse it', async () => {
    const { responder } = pair(ids.ed, ids.ec);
    await expectViolation(() => responder.receive(Buffer.alloc(9 * 1024, 0xff)), CloseCode.malformedFrame);
  });

  // X25519 points of small order: the shared secret would be all zeros, which libsodium refuses.
  const p = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');
  it.each<[string, Buffer]>([
    ['32 zero bytes', Buffer.alloc(32)],
    ['the point u = 1', Buffer.concat([Buffer.from([1]), Buffer.alloc(31)])],
    ['u = p (zero, unreduced)', p],
  ])('refuses a HELLO whose "eph" is %s (an invalid X25519 point) with 4005, not a crash', async (_what, eph) => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const bad = editHello(initiator.hello(), (h) => (h['eph'] = eph.toString('base64')));
    const err = await expectViolation(() => responder.receive(bad), CloseCode.malformedFrame);
    expect(err.reason).toMatch(/X25519/);
    // The initiator side refuses the same thing in the other direction.
    const { initiator: i2, responder: r2 } = pair(ids.ed, ids.ec);
    const badResponderHello = editHello(r2.hello(), (h) => (h['eph'] = eph.toString('base64')));
    await expectViolation(() => i2.receive(badResponderHello), CloseCode.malformedFrame);
  });

  it('refuses garbage bytes with 4005', async () => {
    const { responder } = pair(ids.ed, ids.ec);
    for (const garbage of [Buffer.alloc(0), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([1, 0, 0, 0, 9, 1, 2])]) {
      await expectViolation(() => responder.receive(garbage), CloseCode.malformedFrame);
    }
  });

  it.each<[string, (h: Record<string, unknown>) => void]>([
    ['a missing nonce', (h) => delete h['nonce']],
    ['a short nonce', (h) => (h['nonce'] = Buffer.alloc(16).toString('base64'))],
    ['a short ephemeral key', (h) => (h['eph'] = Buffer.alloc(31).toString('base64'))],
    ['a non-base64 key', (h) => (h['key'] = '***')],
    ['a garbage key', (h) => (h['key'] = Buffer.from('not a key blob').toString('base64'))],
    ['a name over MAX_NAME_LENGTH', (h) => (h['name'] = 'x'.repeat(MAX_NAME_LENGTH + 1))],
    ['a numeric name', (h) => (h['name'] = 7)],
    ['a string version', (h) => (h['version'] = '2')],
  ])('refuses a HELLO with %s with 4005', async (_what, edit) => {
    const { initiator, responder } = pair(ids.ed, ids.ec);
    await expectViolation(() => responder.receive(editHello(initiator.hello(), edit)), CloseCode.malformedFrame);
  });

  it('refuses a HELLO carrying a 1024-bit RSA key with 4005', async (ctx) => {
    if (rsa1024Blob === undefined) {
      ctx.skip('ssh-keygen would not make a 1024-bit RSA key');
      return;
    }
    const { initiator, responder } = pair(ids.ed, ids.ec);
    const weak = editHello(initiator.hello(), (h) => (h['key'] = rsa1024Blob!.toString('base64')));
    const err = await expectViolation(() => responder.receive(weak), CloseCode.malformedFrame);
    expect(err.reason).toMatch(/2048/);
  });

  it('refuses a HELLO whose key was swapped for a trusted one (the AUTH cannot match)', async () => {
    // Mallory announces ed's public key but can only sign with her own.
    const victimSide = side('responder', ids.ec, 'beta', [[ids.ed, '']]);
    const mallory = side('initiator', ids.mallory, 'alpha', [[ids.ec, '']]);
    const forged = editHello(mallory.hello(), (h) => (h['key'] = ids.ed.publicKey.blob.toString('base64')));
    await victimSide.receive(forged);
    // Mallory's handshake signs a transcript containing her real HELLO, with her own key.
    const malloryAuth = (await mallory.receive(victimSide.hello())).send[0]!;
    await expectViolation(() => victimSide.receive(malloryAuth), CloseCode.badSignature);
  });
});
