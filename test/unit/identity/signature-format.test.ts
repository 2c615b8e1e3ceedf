import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityFile, type Identity } from '../../../src/identity/identity.js';
import { PublicKey } from '../../../src/identity/public-key.js';
import { ecdsaDerToSsh, ecdsaSshToDer } from '../../../src/identity/signature-format.js';
import { ALL_KEY_SPECS, KeyDir } from '../_support/keys.js';

const ECDSA_LABELS = ['ecdsa-256', 'ecdsa-384', 'ecdsa-521'] as const;
type EcdsaLabel = (typeof ECDSA_LABELS)[number];
const ORDER_BYTES: Record<EcdsaLabel, number> = { 'ecdsa-256': 32, 'ecdsa-384': 48, 'ecdsa-521': 66 };

let keyDir: KeyDir;
const identities = {} as Record<EcdsaLabel, { id: Identity; path: string; pubPath: string }>;

beforeAll(async () => {
  keyDir = new KeyDir();
  for (const label of ECDSA_LABELS) {
    const key = keyDir.generate(ALL_KEY_SPECS.find((s) => s.label === label)!);
    identities[label] = { id: await loadIdentityFile(key.path), path: key.path, pubPath: key.pubPath };
  }
});

afterAll(() => keyDir?.remove());

// --- SSH wire-format helpers (RFC 4251) ---

function sshString(value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  return Buffer.concat([length, body]);
}

/** Reads SSH strings from a buffer; throws if one runs past the end. */
class Reader {
  offset = 0;
  constructor(private readonly buffer: Buffer) {}
  string(): Buffer {
    if (this.offset + 4 > this.buffer.length) throw new Error('short length');
    const length = this.buffer.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.buffer.length) throw new Error('string past the end');
    this.offset = start + length;
    return this.buffer.subarray(start, start + length);
  }
  get done(): boolean {
    return this.offset === this.buffer.length;
  }
}

/** Parses SSH's ECDSA signature blob strictly: exactly two positive, minimally encoded mpints. */
function parseSshEcdsaSignature(signature: Buffer): { r: bigint; s: bigint; raw: Buffer[] } {
  const reader = new Reader(signature);
  const raw = [reader.string(), reader.string()];
  expect(reader.done).toBe(true);
  for (const mpint of raw) {
    expect(mpint.length).toBeGreaterThan(0);
    expect(mpint[0]! & 0x80).toBe(0); // positive
    if (mpint[0] === 0) {
      // A leading zero is allowed only to keep a high bit from reading as a sign.
      expect(mpint.length).toBeGreaterThan(1);
      expect(mpint[1]! & 0x80).toBe(0x80);
    }
  }
  return { r: toBigInt(raw[0]!), s: toBigInt(raw[1]!), raw };
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

/** Minimal unsigned big-endian bytes of a positive bigint. */
function unsignedBytes(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/** Reference encodings built independently of the code under test. */
function refMpint(value: bigint): Buffer {
  const bytes = unsignedBytes(value);
  return sshString(bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function refDerLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes = unsignedBytes(BigInt(length));
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

function refDerInteger(value: bigint, extraLeadingZeros = 0): Buffer {
  const bytes = unsignedBytes(value);
  const body = Buffer.concat([Buffer.alloc(extraLeadingZeros), bytes[0]! & 0x80 ? Buffer.from([0]) : Buffer.alloc(0), bytes]);
  return Buffer.concat([Buffer.from([0x02]), refDerLength(body.length), body]);
}

function refDerSignature(r: bigint, s: bigint, extraLeadingZeros = 0): Buffer {
  const body = Buffer.concat([refDerInteger(r, extraLeadingZeros), refDerInteger(s, extraLeadingZeros)]);
  return Buffer.concat([Buffer.from([0x30]), refDerLength(body.length), body]);
}

// --- OpenSSH's SSHSIG format (PROTOCOL.sshsig), for checking against ssh-keygen itself ---

const SSHSIG_NAMESPACE = 'clipsync-test';

function sshsigSignedData(message: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('SSHSIG'),
    sshString(SSHSIG_NAMESPACE),
    sshString(''),
    sshString('sha512'),
    sshString(createHash('sha512').update(message).digest()),
  ]);
}

function sshsigArmor(publicKeyBlob: Buffer, algorithm: string, signature: Buffer): string {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1, 0);
  const blob = Buffer.concat([
    Buffer.from('SSHSIG'),
    version,
    sshString(publicKeyBlob),
    sshString(SSHSIG_NAMESPACE),
    sshString(''),
    sshString('sha512'),
    sshString(Buffer.concat([sshString(algorithm), sshString(signature)])),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

function sshsigUnarmor(text: string): { algorithm: string; signature: Buffer } {
  const base64 = text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const blob = Buffer.from(base64, 'base64');
  expect(blob.subarray(0, 6).toString()).toBe('SSHSIG');
  const reader = new Reader(blob.subarray(10));
  reader.string(); // public key
  expect(reader.string().toString()).toBe(SSHSIG_NAMESPACE);
  reader.string(); // reserved
  expect(reader.string().toString()).toBe('sha512');
  const inner = new Reader(reader.string());
  return { algorithm: inner.string().toString(), signature: inner.string() };
}

describe('ECDSA identities sign in SSH format', () => {
  it.each(ECDSA_LABELS)('%s: sign() gives two minimal mpints that PublicKey.verify accepts', async (label) => {
    const { id } = identities[label];
    for (let i = 0; i < 40; i++) {
      const data = Buffer.from(`message ${i} for ${label}`);
      const signed = await id.sign(data);
      expect(signed.algorithm).toBe(id.publicKey.type);
      const { r, s, raw } = parseSshEcdsaSignature(signed.signature);
      expect(r > 0n && s > 0n).toBe(true);
      for (const mpint of raw) expect(mpint.length).toBeLessThanOrEqual(ORDER_BYTES[label] + 1);
      expect(id.publicKey.verify(data, signed.signature, id.publicKey.type)).toBe(true);
      // A key parsed afresh from its .pub line agrees.
      expect(PublicKey.fromLine(id.publicKey.toLine()).verify(data, signed.signature, id.publicKey.type)).toBe(true);
      expect(id.publicKey.verify(Buffer.concat([data, Buffer.from('!')]), signed.signature, id.publicKey.type)).toBe(false);
    }
  });

  it.each(ECDSA_LABELS)('%s: PublicKey.verify refuses the DER form, another algorithm name, and non-minimal or negative mpints', async (label) => {
    const { id } = identities[label];
    const data = Buffer.from('strict');
    const signed = await id.sign(data);
    const { raw } = parseSshEcdsaSignature(signed.signature);
    const [r, s] = raw as [Buffer, Buffer];
    const der = ecdsaSshToDer(signed.signature)!;
    expect(id.publicKey.verify(data, der, id.publicKey.type)).toBe(false);
    const otherCurve = ECDSA_LABELS.map((l) => identities[l].id.publicKey.type).find((t) => t !== id.publicKey.type)!;
    expect(id.publicKey.verify(data, signed.signature, otherCurve)).toBe(false);
    expect(id.publicKey.verify(data, signed.signature, 'ssh-ed25519')).toBe(false);
    // The same r and s, padded with a needless zero byte: OpenSSH refuses these, and so must we.
    const padded = Buffer.concat([sshString(Buffer.concat([Buffer.from([0]), r])), sshString(s)]);
    expect(id.publicKey.verify(data, padded, id.publicKey.type)).toBe(false);
    const paddedS = Buffer.concat([sshString(r), sshString(Buffer.concat([Buffer.from([0]), s]))]);
    expect(id.publicKey.verify(data, paddedS, id.publicKey.type)).toBe(false);
    // r with its sign byte dropped reads as negative when the high bit is set.
    if (r[0] === 0) {
      expect(id.publicKey.verify(data, Buffer.concat([sshString(r.subarray(1)), sshString(s)]), id.publicKey.type)).toBe(false);
    }
    expect(id.publicKey.verify(data, Buffer.concat([signed.signature, Buffer.from([0])]), id.publicKey.type)).toBe(false);
    expect(id.publicKey.verify(data, Buffer.alloc(0), id.publicKey.type)).toBe(false);
  });

  it.each(ECDSA_LABELS)('%s: ssh-keygen -Y accepts our signatures, and ours accepts ssh-keygen’s', async (label) => {
    const { id, path, pubPath } = identities[label];
    const message = Buffer.from(`interop check for ${label}\n`);
    const messageFile = keyDir.path(`msg-${label}`);
    writeFileSync(messageFile, message);

    // Ours → OpenSSH.
    const signed = await id.sign(sshsigSignedData(message));
    const sigFile = keyDir.path(`msg-${label}.ours.sig`);
    writeFileSync(sigFile, sshsigArmor(id.publicKey.blob, signed.algorithm, signed.signature));
    const check = spawnSync('ssh-keygen', ['-Y', 'check-novalidate', '-n', SSHSIG_NAMESPACE, '-f', pubPath, '-s', sigFile], {
      input: message,
      encoding: 'utf8',
    });
    expect(check.stderr + check.stdout).toMatch(/Good/);
    expect(check.status).toBe(0);

    // OpenSSH → ours (the same encoding an ssh-agent returns).
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', SSHSIG_NAMESPACE, '-f', path, messageFile], { stdio: 'pipe' });
    const theirs = sshsigUnarmor(readFileSync(`${messageFile}.sig`, 'utf8'));
    expect(theirs.algorithm).toBe(id.publicKey.type);
    parseSshEcdsaSignature(theirs.signature);
    expect(id.publicKey.verify(sshsigSignedData(message), theirs.signature, theirs.algorithm)).toBe(true);
    expect(id.publicKey.verify(sshsigSignedData(Buffer.from('other')), theirs.signature, theirs.algorithm)).toBe(false);
  });
});

describe('ecdsaDerToSsh / ecdsaSshToDer', () => {
  const curves: [string, string, string][] = [
    ['P-256', 'prime256v1', 'sha256'],
    ['P-384', 'secp384r1', 'sha384'],
    ['P-521', 'secp521r1', 'sha512'],
  ];

  it.each(curves)('%s: round-trips DER signatures from node crypto for many random messages', (_name, namedCurve, hash) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    let highBit = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        runs++;
        const message = Buffer.from(bytes);
        const der = cryptoSign(hash, message, { key: privateKey as KeyObject, dsaEncoding: 'der' });
        const ssh = ecdsaDerToSsh(der);
        const { raw } = parseSshEcdsaSignature(ssh);
        if (raw.some((m) => m[0] === 0)) highBit++;
        const back = ecdsaSshToDer(ssh);
        expect(back).toBeDefined();
        expect(back!.equals(der)).toBe(true);
        expect(cryptoVerify(hash, message, { key: publicKey, dsaEncoding: 'der' }, back!)).toBe(true);
      }),
      { numRuns: 300 },
    );
    // Half of all r and s have the high bit set: the 0 pad was exercised many times over.
    expect(runs).toBe(300);
    expect(highBit).toBeGreaterThan(50);
  });

  it('converts arbitrary positive r and s exactly like an independent reference (property)', () => {
    const positive = fc
      .uint8Array({ minLength: 1, maxLength: 70 })
      .map((b) => toBigInt(Buffer.from(b)))
      .filter((v) => v > 0n);
    fc.assert(
      fc.property(positive, positive, fc.integer({ min: 0, max: 3 }), (r, s, extraZeros) => {
        const der = refDerSignature(r, s);
        const ssh = ecdsaDerToSsh(der);
        expect(ssh.equals(Buffer.concat([refMpint(r), refMpint(s)]))).toBe(true);
        expect(ecdsaSshToDer(ssh)!.equals(der)).toBe(true);
        // DER from a sloppy signer with needless leading zeros still gives minimal mpints.
        expect(ecdsaDerToSsh(refDerSignature(r, s, extraZeros)).equals(ssh)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('handles small values and the long-form DER length (P-521 sized) explicitly', () => {
    for (const [r, s] of [
      [1n, 1n],
      [0x7fn, 0x80n],
      [0xffn, 0x0100n],
      [(1n << 520n) + 12345n, (1n << 527n) | 1n],
    ] as [bigint, bigint][]) {
      const der = refDerSignature(r, s);
      const ssh = ecdsaDerToSsh(der);
      const parsed = parseSshEcdsaSignature(ssh);
      expect([parsed.r, parsed.s]).toEqual([r, s]);
      expect(ecdsaSshToDer(ssh)!.equals(der)).toBe(true);
    }
  });

  it('returns undefined for malformed SSH signatures', () => {
    const one = refMpint(0x1234n);
    const two = refMpint(0x5678n);
    expect(ecdsaSshToDer(Buffer.concat([one, two]))).toBeDefined();
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['one mpint', one],
      ['one mpint and a partial length', Buffer.concat([one, Buffer.from([0, 0])])],
      ['trailing bytes', Buffer.concat([one, two, Buffer.from([0])])],
      ['a third mpint', Buffer.concat([one, two, two])],
      ['a zero-length first mpint', Buffer.concat([sshString(Buffer.alloc(0)), two])],
      ['a zero-length second mpint', Buffer.concat([one, sshString(Buffer.alloc(0))])],
      ['a length past the end', Buffer.concat([Buffer.from([0, 0, 0, 9, 1, 2]), two])],
      ['a second length past the end', Buffer.concat([one, Buffer.from([0, 0, 0, 3, 1])])],
      ['a huge length', Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])],
      ['three bytes', Buffer.from([0, 0, 1])],
      ['a DER signature', refDerSignature(0x1234n, 0x5678n)],
    ];
    for (const [what, input] of cases) expect(ecdsaSshToDer(input), what).toBeUndefined();
  });

  /** Arbitrary bytes, and strings of length-prefixed chunks (with lengths that may lie). */
  const chunk = fc.tuple(fc.uint8Array({ maxLength: 70 }), fc.integer({ min: -2, max: 2 })).map(([body, lie]) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Math.max(0, body.length + lie), 0);
    return Buffer.concat([length, Buffer.from(body)]);
  });
  const sshishBytes = fc.oneof(
    fc.uint8Array({ maxLength: 160 }),
    fc.array(chunk, { maxLength: 4 }).map((chunks) => new Uint8Array(Buffer.concat(chunks))),
  );

  it('never throws on arbitrary bytes, and what it accepts re-parses as exactly two mpints (property)', () => {
    fc.assert(
      fc.property(sshishBytes, (bytes) => {
        const input = Buffer.from(bytes);
        const der = ecdsaSshToDer(input);
        if (der === undefined) return;
        const reader = new Reader(input);
        expect(reader.string().length).toBeGreaterThan(0);
        expect(reader.string().length).toBeGreaterThan(0);
        expect(reader.done).toBe(true);
        expect(der[0]).toBe(0x30);
      }),
      { numRuns: 2000 },
    );
  });
});
