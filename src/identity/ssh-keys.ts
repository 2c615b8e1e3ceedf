import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { fail } from '../core/errors.js';
import { SshReader, sshMpint, sshString } from './ssh-wire.js';

/**
 * SSH keys to and from Node key objects: public key blobs (authorized_keys, the handshake,
 * ssh-agent) and private key files (OpenSSH's own format, and PEM). Done here rather than
 * through ssh2, whose key parser loads its whole SSH transport with it (a native binding, a
 * WebAssembly Poly1305 with 16 MiB of memory, cpu-features): 4 MiB of every daemon's idle
 * memory for the few hundred lines that parse keys (docs/BENCHMARKS.md, idle).
 */

/** SSH's ECDSA curve names, with the JWK curve and the byte length of a coordinate. */
const CURVES: Record<string, { jwk: string; bytes: number }> = {
  nistp256: { jwk: 'P-256', bytes: 32 },
  nistp384: { jwk: 'P-384', bytes: 48 },
  nistp521: { jwk: 'P-521', bytes: 66 },
};

const b64url = (data: Buffer): string => data.toString('base64url');

/** A public key blob's type and its key object; a blob that is not a well-formed key throws KEY_PARSE. */
export function parsePublicBlob(blob: Buffer): { type: string; key: KeyObject } {
  const reader = new SshReader(blob, 'the public key data');
  const type = reader.text();
  const jwk = publicJwk(type, reader);
  reader.end();
  return { type, key: keyObject(() => createPublicKey({ key: jwk, format: 'jwk' }), type) };
}

/** The fields after the type in a public blob (and at the start of an OpenSSH private key). */
function publicJwk(type: string, reader: SshReader): JsonWebKey {
  if (type === 'ssh-ed25519') {
    const x = reader.string();
    if (x.length !== 32) throw fail('CLIPSYNC_ERR_KEY_PARSE', `an ed25519 public key is 32 bytes, not ${x.length}`);
    return { kty: 'OKP', crv: 'Ed25519', x: b64url(x) };
  }
  if (type === 'ssh-rsa') {
    const e = reader.unsigned();
    const n = reader.unsigned();
    // e = 1 makes every "signature" verify; real keys use an odd e >= 3 (ssh-keygen: 65537).
    if (e.length === 0 || (e.length === 1 && e[0]! < 3) || (e[e.length - 1]! & 1) === 0) {
      throw fail('CLIPSYNC_ERR_KEY_PARSE', 'the RSA public exponent is not an odd number of 3 or more');
    }
    return { kty: 'RSA', n: b64url(n), e: b64url(e) };
  }
  const curveName = /^ecdsa-sha2-(nistp\d+)$/.exec(type)?.[1];
  const curve = curveName === undefined ? undefined : CURVES[curveName];
  if (curve !== undefined) {
    if (reader.text() !== curveName) throw fail('CLIPSYNC_ERR_KEY_PARSE', `the curve in the key data does not match ${type}`);
    const point = reader.string();
    if (point.length !== 1 + 2 * curve.bytes || point[0] !== 0x04) throw fail('CLIPSYNC_ERR_KEY_PARSE', `the ${type} public point is not an uncompressed point`);
    return { kty: 'EC', crv: curve.jwk, x: b64url(point.subarray(1, 1 + curve.bytes)), y: b64url(point.subarray(1 + curve.bytes)) };
  }
  throw fail('CLIPSYNC_ERR_KEY_PARSE', `key type ${type} is not supported`);
}

/** The SSH public key blob of a key object (public or private), for keys read from PEM. */
export function publicBlobOf(key: KeyObject): Buffer {
  const kind = key.asymmetricKeyType;
  if (kind !== 'ed25519' && kind !== 'rsa' && kind !== 'ec') throw fail('CLIPSYNC_ERR_KEY_PARSE', `key type ${kind ?? 'unknown'} is not supported`);
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const field = (value: string | undefined): Buffer => Buffer.from(value ?? '', 'base64url');
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return Buffer.concat([sshString('ssh-ed25519'), sshString(field(jwk.x))]);
  if (jwk.kty === 'RSA') return Buffer.concat([sshString('ssh-rsa'), sshMpint(field(jwk.e)), sshMpint(field(jwk.n))]);
  const curveName = Object.keys(CURVES).find((name) => CURVES[name]!.jwk === jwk.crv);
  if (jwk.kty === 'EC' && curveName !== undefined) {
    const point = Buffer.concat([Buffer.from([4]), field(jwk.x), field(jwk.y)]);
    return Buffer.concat([sshString(`ecdsa-sha2-${curveName}`), sshString(curveName), sshString(point)]);
  }
  throw fail('CLIPSYNC_ERR_KEY_PARSE', `key type ${jwk.crv ?? jwk.kty ?? kind} is not supported`);
}

export type PrivateKeyFile =
  | { kind: 'private'; privateKey: KeyObject; publicBlob: Buffer; type: string; comment: string }
  | { kind: 'public' }
  | { kind: 'encrypted' }
  | { kind: 'unsupported'; type: string }
  | { kind: 'invalid'; reason: string };

/** What a private key file holds: OpenSSH's format (`ssh-keygen`'s default) or PEM (PKCS#1, SEC1, PKCS#8). */
export function parsePrivateKeyFile(text: Buffer): PrivateKeyFile {
  const content = text.toString('utf8');
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(content);
  try {
    if (openssh !== null) return parseOpenSshPrivate(Buffer.from(openssh[1]!.replace(/\s+/g, ''), 'base64'));
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(content)) return { kind: 'encrypted' };
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(content)) {
      const privateKey = createPrivateKey(content);
      const publicBlob = publicBlobOf(privateKey);
      return { kind: 'private', privateKey, publicBlob, type: new SshReader(publicBlob, 'the public key data').text(), comment: '' };
    }
  } catch (err) {
    const message = (err as Error).message;
    if (/key type (\S+) is not supported/.test(message)) return { kind: 'unsupported', type: /key type (\S+)/.exec(message)![1]! };
    return { kind: 'invalid', reason: message };
  }
  if (/^\s*(ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/=]+/.test(content) || content.includes('-----BEGIN PUBLIC KEY-----') || content.includes('-----BEGIN SSH2 PUBLIC KEY-----')) {
    return { kind: 'public' };
  }
  return { kind: 'invalid', reason: 'no private key found in it' };
}

/**
 * "openssh-key-v1": cipher, kdf, kdf options, the key count, the public blobs, then the
 * private section (two equal check words, then per key its type, fields and comment).
 */
function parseOpenSshPrivate(body: Buffer): PrivateKeyFile {
  const magic = Buffer.from('openssh-key-v1\0', 'latin1');
  if (!body.subarray(0, magic.length).equals(magic)) return { kind: 'invalid', reason: 'not an openssh-key-v1 key' };
  const reader = new SshReader(body.subarray(magic.length), 'the OpenSSH private key');
  const cipher = reader.text();
  reader.text(); // kdf name
  reader.string(); // kdf options
  if (cipher !== 'none') return { kind: 'encrypted' };
  const count = reader.uint32();
  if (count < 1) return { kind: 'invalid', reason: 'it holds no key' };
  const publicBlobs = Array.from({ length: count }, () => reader.string());
  const section = new SshReader(reader.string(), 'the OpenSSH private key');
  if (section.uint32() !== section.uint32()) return { kind: 'invalid', reason: 'its check words differ (a corrupt key)' };
  const type = section.text();
  const jwk = privateJwk(type, section);
  if (jwk === undefined) return { kind: 'unsupported', type };
  const comment = section.text();
  const privateKey = keyObject(() => createPrivateKey({ key: jwk, format: 'jwk' }), type);
  const publicBlob = publicBlobOf(privateKey);
  if (!publicBlob.equals(publicBlobs[0]!)) return { kind: 'invalid', reason: 'its private key does not match its public key' };
  return { kind: 'private', privateKey, publicBlob, type, comment };
}

/** The private fields of one key in an OpenSSH private section, as a JWK; undefined for other types. */
function privateJwk(type: string, reader: SshReader): JsonWebKey | undefined {
  if (type === 'ssh-ed25519') {
    const pub = reader.string();
    const secret = reader.string(); // the seed, then the public key again
    if (pub.length !== 32 || secret.length !== 64) throw fail('CLIPSYNC_ERR_KEY_PARSE', 'the ed25519 private key has the wrong length');
    return { kty: 'OKP', crv: 'Ed25519', x: b64url(pub), d: b64url(secret.subarray(0, 32)) };
  }
  if (type === 'ssh-rsa') {
    const [n, e, d, iqmp, p, q] = Array.from({ length: 6 }, () => reader.unsigned());
    const big = (value: Buffer): bigint => BigInt(`0x${value.toString('hex') || '0'}`);
    const bytes = (value: bigint): Buffer => {
      const hex = value.toString(16);
      return Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
    };
    const dp = big(d!) % (big(p!) - 1n);
    const dq = big(d!) % (big(q!) - 1n);
    return { kty: 'RSA', n: b64url(n!), e: b64url(e!), d: b64url(d!), p: b64url(p!), q: b64url(q!), dp: b64url(bytes(dp)), dq: b64url(bytes(dq)), qi: b64url(iqmp!) };
  }
  const curveName = /^ecdsa-sha2-(nistp\d+)$/.exec(type)?.[1];
  const curve = curveName === undefined ? undefined : CURVES[curveName];
  if (curve !== undefined) {
    const pub = publicJwk(type, reader);
    const d = reader.unsigned();
    if (d.length > curve.bytes) throw fail('CLIPSYNC_ERR_KEY_PARSE', `the ${type} private scalar is too long`);
    return { ...pub, d: b64url(Buffer.concat([Buffer.alloc(curve.bytes - d.length), d])) };
  }
  return undefined;
}

/** Node's refusal of a key (a point off the curve, a bad RSA key) as a KEY_PARSE error. */
function keyObject(make: () => KeyObject, type: string): KeyObject {
  try {
    return make();
  } catch (err) {
    throw fail('CLIPSYNC_ERR_KEY_PARSE', `the ${type} key is not valid (${(err as Error).message})`, { cause: err });
  }
}
