import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey, fingerprintOf } from '../../../src/identity/public-key.js';
import {
  NAME_MAX_BYTES,
  TXT_STRING_MAX_BYTES,
  encodeTxtRecord,
  isFingerprint,
  parseTxtRecord,
  sanitizeDeviceName,
  truncateUtf8,
  txtEntries,
} from '../../../src/discovery/txt-record.js';
import { ALL_KEY_SPECS, KeyDir, sshKeygenFingerprint, type GeneratedKey } from '../_support/keys.js';

let keyDir: KeyDir;
const keys = new Map<string, GeneratedKey>();

beforeAll(() => {
  keyDir = new KeyDir('clipsync-txt-');
  for (const spec of ALL_KEY_SPECS) keys.set(spec.label, keyDir.generate(spec));
});
afterAll(() => keyDir.remove());

const keyOf = (label: string): PublicKey => PublicKey.fromLine(keys.get(label)!.pubLine);
const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const strings = (record: Buffer[]): string[] => record.map((s) => s.toString('utf8'));

/** A valid record for key `label`, as strings, with fields replaced or removed. */
function record(label: string, changes: Record<string, string | undefined> = {}): Buffer[] {
  const base = strings(encodeTxtRecord({ version: 1, name: 'laptop', publicKey: keyOf(label) }));
  const out = base.filter((s) => !(s.split('=')[0]! in changes));
  for (const [key, value] of Object.entries(changes)) if (value !== undefined) out.push(`${key}=${value}`);
  return out.map(b);
}

function reason(result: ReturnType<typeof parseTxtRecord>): string {
  if (result.ok) throw new Error('expected the record to be refused');
  return result.reason;
}

describe('encodeTxtRecord', () => {
  it('writes v, fp, name and pk in that order, byte for byte', () => {
    const key = keyOf('ed25519');
    const out = encodeTxtRecord({ version: 1, name: 'laptop', publicKey: key });
    expect(strings(out)).toEqual(['v=1', `fp=${key.fingerprint}`, 'name=laptop', `pk=${key.blob.toString('base64')}`]);
    // An ed25519 blob is 51 bytes: 68 base64 characters after "pk=".
    expect(out[3]!.length).toBe(3 + 68);
  });

  it.each(ALL_KEY_SPECS.map((s) => s.label))('%s: fp is what ssh-keygen -lf prints; pk is there exactly when it fits', (label) => {
    const out = encodeTxtRecord({ version: 1, name: 'x', publicKey: keyOf(label) });
    expect(out.find((s) => s.toString().startsWith('fp='))!.toString()).toBe(`fp=${sshKeygenFingerprint(keys.get(label)!.pubPath)}`);
    for (const s of out) expect(s.length).toBeLessThanOrEqual(TXT_STRING_MAX_BYTES);
    const hasPk = out.some((s) => s.toString().startsWith('pk='));
    expect(hasPk).toBe(!label.startsWith('rsa'));
  });

  it('round-trips through parseTxtRecord for every key type', () => {
    for (const spec of ALL_KEY_SPECS) {
      const key = keyOf(spec.label);
      const parsed = parseTxtRecord(encodeTxtRecord({ version: 7, name: 'Jürgen’s ThinkPad', publicKey: key }));
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      expect(parsed.record.version).toBe(7);
      expect(parsed.record.fingerprint).toBe(key.fingerprint);
      expect(parsed.record.name).toBe('Jürgen’s ThinkPad');
      expect(parsed.record.publicKey?.toLine()).toBe(spec.label.startsWith('rsa') ? undefined : key.toLine(''));
    }
  });

  it('cleans the device name instead of refusing to advertise', () => {
    const key = keyOf('ed25519');
    const name = (input: string): string => parseOk(encodeTxtRecord({ version: 1, name: input, publicKey: key })).name;
    expect(name('  desk\u0007top\u202e  ')).toBe('desktop');
    expect(name('\u0000\u001b')).toBe('clipsync');
    expect(Buffer.byteLength(name('é'.repeat(100)))).toBeLessThanOrEqual(NAME_MAX_BYTES);
    expect(name('é'.repeat(100))).toBe('é'.repeat(31));
  });

  it('refuses a version that does not fit', () => {
    for (const version of [0, 65536, 1.5]) {
      expect(() => encodeTxtRecord({ version, name: 'x', publicKey: keyOf('ed25519') })).toThrow(expect.objectContaining({ code: 'CLIPSYNC_ERR_INTERNAL' }));
    }
  });
});

function parseOk(strings: Buffer[]): NonNullable<Extract<ReturnType<typeof parseTxtRecord>, { ok: true }>['record']> {
  const result = parseTxtRecord(strings);
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result.record;
}

describe('parseTxtRecord', () => {
  it('accepts a record without pk (an rsa key) and keeps unknown keys', () => {
    const out = parseOk([...record('rsa-2048', { future: 'yes' }), b('flag')]);
    expect(out.publicKey).toBeUndefined();
    expect(out.entries).toMatchObject({ v: '1', name: 'laptop', future: 'yes', flag: '' });
  });

  it('reads keys case-insensitively and keeps only the first of a repeated key (RFC 6763 §6.4)', () => {
    const key = keyOf('ed25519');
    const out = parseOk([b('V=2'), b(`FP=${key.fingerprint}`), b('Name=first'), b('name=second'), b('v=3')]);
    expect(out.version).toBe(2);
    expect(out.name).toBe('first');
  });

  it('ignores empty strings and strings with an empty or unreadable key', () => {
    const out = parseOk([b(''), b('=orphan'), Buffer.from([0x01, 0x3d, 0x41]), ...record('ed25519')]);
    expect(Object.keys(out.entries).sort()).toEqual(['fp', 'name', 'pk', 'v']);
  });

  it('treats a key named __proto__ as a key, not as a prototype', () => {
    const out = parseOk([...record('ed25519'), b('__proto__=polluted'), b('constructor=x')]);
    expect(out.entries['__proto__']).toBe('polluted');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(out.entries)).toBeNull();
  });

  it.each([
    ['no v', { v: undefined }, 'the TXT record has no protocol version (v)'],
    ['v = 0', { v: '0' }, 'the protocol version (v) is not a number from 1 to 65535'],
    ['v with a leading zero', { v: '01' }, 'the protocol version (v) is not a number from 1 to 65535'],
    ['v too big', { v: '65536' }, 'the protocol version (v) is not a number from 1 to 65535'],
    ['v not a number', { v: '1.0' }, 'the protocol version (v) is not a number from 1 to 65535'],
    ['no fp', { fp: undefined, pk: undefined }, 'the TXT record has no key fingerprint (fp)'],
    ['fp of MD5 style', { fp: 'MD5:aa:bb', pk: undefined }, 'the key fingerprint (fp) is not SHA256: and 43 base64 characters'],
    ['fp too short', { fp: `SHA256:${'A'.repeat(42)}`, pk: undefined }, 'the key fingerprint (fp) is not SHA256: and 43 base64 characters'],
    ['fp padded', { fp: `SHA256:${'A'.repeat(43)}=`, pk: undefined }, 'the key fingerprint (fp) is not SHA256: and 43 base64 characters'],
    ['no name', { name: undefined }, 'the TXT record has no device name (name)'],
    ['empty name', { name: '' }, 'the device name is empty'],
    ['blank name', { name: '   ' }, 'the device name is empty'],
    ['name too long', { name: 'x'.repeat(NAME_MAX_BYTES + 1) }, `the device name is longer than ${NAME_MAX_BYTES} bytes`],
    ['terminal escape in name', { name: 'lap\u001b[2Jtop' }, 'the device name contains control or bidirectional-override characters'],
    ['bidi override in name', { name: 'lap\u202etop' }, 'the device name contains control or bidirectional-override characters'],
    ['pk not base64', { pk: 'not base64!' }, 'the public key (pk) is not base64'],
    ['pk empty', { pk: '' }, 'the public key (pk) is not base64'],
  ])('refuses %s', (_label, changes, expected) => {
    expect(reason(parseTxtRecord(record('ed25519', changes)))).toBe(expected);
  });

  it('accepts a name of exactly the maximum length', () => {
    expect(parseOk(record('ed25519', { name: 'x'.repeat(NAME_MAX_BYTES) })).name).toHaveLength(NAME_MAX_BYTES);
  });

  it('refuses a name that is not valid UTF-8 (rather than showing U+FFFD)', () => {
    const strings = record('ed25519', { name: undefined });
    strings.push(Buffer.concat([b('name=lap'), Buffer.from([0xc3, 0x28])]));
    expect(reason(parseTxtRecord(strings))).toBe('the device name is not valid UTF-8');
  });

  it('refuses a fingerprint in non-canonical base64 (the last character carries stray bits)', () => {
    const key = keyOf('ed25519');
    const b64 = key.fingerprint.slice(7);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(b64[42]!);
    const twisted = `SHA256:${b64.slice(0, 42)}${alphabet[last | 1]}`;
    expect(isFingerprint(key.fingerprint)).toBe(true);
    expect(isFingerprint(twisted)).toBe(false);
  });

  it('refuses a public key that does not hash to the advertised fingerprint', () => {
    const other = keyOf('ecdsa-256');
    expect(reason(parseTxtRecord(record('ed25519', { pk: other.blob.toString('base64') })))).toBe('the public key (pk) does not match the fingerprint (fp)');
  });

  it('refuses key data that matches its fingerprint but is not a usable key', () => {
    const junk = randomBytes(40);
    const fp = fingerprintOf(junk);
    expect(reason(parseTxtRecord(record('ed25519', { fp, pk: junk.toString('base64') })))).toMatch(/^the public key \(pk\) is not usable: /);
    // An SSH blob of a refused type (DSA), consistent with its own fingerprint.
    const field = (s: string | Buffer): Buffer => {
      const body = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      return Buffer.concat([len, body]);
    };
    const dsa = Buffer.concat([field('ssh-dss'), field(randomBytes(33)), field(randomBytes(21)), field(randomBytes(33)), field(randomBytes(33))]);
    expect(reason(parseTxtRecord(record('ed25519', { fp: fingerprintOf(dsa), pk: dsa.toString('base64') })))).toMatch(/^the public key \(pk\) is not usable/);
  });

  it('refuses records over the size limits', () => {
    const tooMany = [...record('ed25519'), ...Array.from({ length: 64 }, (_, i) => b(`k${i}=v`))];
    expect(reason(parseTxtRecord(tooMany))).toBe('the TXT record has more than 64 strings');
    expect(reason(parseTxtRecord([...record('ed25519'), Buffer.alloc(256, 0x41)]))).toBe('a TXT string is longer than 255 bytes');
    const big = Array.from({ length: 40 }, (_, i) => Buffer.concat([b(`k${i}=`), Buffer.alloc(240, 0x41)]));
    expect(reason(parseTxtRecord([...record('ed25519'), ...big]))).toBe('the TXT record is larger than 8900 bytes');
  });

  it('never throws, whatever the bytes (property)', () => {
    const key = keyOf('ed25519');
    const valid = encodeTxtRecord({ version: 1, name: 'x', publicKey: key });
    const arbString = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      fc.constantFrom(...valid),
      fc.tuple(fc.constantFrom('v=', 'fp=', 'name=', 'pk=', 'V=', 'fp=SHA256:'), fc.uint8Array({ maxLength: 80 })).map(([k, v]) => Buffer.concat([b(k), Buffer.from(v)])),
    );
    fc.assert(
      fc.property(fc.array(arbString, { maxLength: 80 }), (record) => {
        const result = parseTxtRecord(record);
        if (result.ok) {
          expect(isFingerprint(result.record.fingerprint)).toBe(true);
          if (result.record.publicKey) expect(result.record.publicKey.fingerprint).toBe(result.record.fingerprint);
        } else {
          expect(typeof result.reason).toBe('string');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any device name that encode keeps (property)', () => {
    const key = keyOf('ecdsa-521');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (name) => {
        const clean = sanitizeDeviceName(name);
        const parsed = parseTxtRecord(encodeTxtRecord({ version: 1, name, publicKey: key }));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(parsed.record.name).toBe(clean);
      }),
      { numRuns: 500 },
    );
  });
});

describe('helpers', () => {
  it('truncateUtf8 never splits a character', () => {
    expect(truncateUtf8('aé€😀', 1)).toBe('a');
    expect(truncateUtf8('aé€😀', 2)).toBe('a');
    expect(truncateUtf8('aé€😀', 3)).toBe('aé');
    expect(truncateUtf8('aé€😀', 9)).toBe('aé€');
    expect(truncateUtf8('aé€😀', 10)).toBe('aé€😀');
  });

  it('txtEntries splits at the first "=" only', () => {
    const split = txtEntries([b('k=a=b')]);
    expect(split.ok && split.entries['k']).toBe('a=b');
  });

  it('isFingerprint accepts exactly what fingerprintOf produces', () => {
    for (let i = 0; i < 50; i++) {
      const fp = fingerprintOf(randomBytes(51));
      expect(isFingerprint(fp)).toBe(true);
    }
    expect(isFingerprint('SHA256:' + createHash('sha256').update('x').digest('base64'))).toBe(false); // padded
  });
});
