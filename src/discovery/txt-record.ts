import { fingerprintOf, PublicKey } from '../identity/public-key.js';
import { fail, messageOf } from '../core/errors.js';

/**
 * The DNS-SD TXT record clipsync advertises (docs/DISCOVERY.md has the byte layout):
 *
 *   v=<protocol version>  fp=SHA256:<43 base64 chars>  name=<device name>  [pk=<key blob base64>]
 *
 * Everything here is pure. Parsing treats the record as hostile: it comes from anyone on the
 * LAN, so it returns a reason instead of throwing, never trusts a length, and accepts a public
 * key only if it hashes to the advertised fingerprint. Discovery is a hint, never trust: the
 * handshake authenticates the key whatever the record says.
 */

/** RFC 6763 §6.1: each TXT string is one length byte plus at most 255 bytes. */
export const TXT_STRING_MAX_BYTES = 255;
/** RFC 6763 §6.2 suggests ≤ 1300 bytes in all; 8900 is the hard ceiling it names. */
export const TXT_RECORD_MAX_BYTES = 8900;
/** More strings than any sane record has; past this the record is refused, not scanned. */
export const TXT_MAX_STRINGS = 64;
/** A device name is one DNS label's worth of UTF-8: enough for "Jürgen's ThinkPad X1 (work)". */
export const NAME_MAX_BYTES = 63;

export const TXT_KEYS = { version: 'v', fingerprint: 'fp', name: 'name', publicKey: 'pk' } as const;

const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const VERSION_RE = /^[1-9][0-9]{0,4}$/;
/**
 * Characters refused in a device name: C0/C1 controls and DEL (terminal escapes when `pair`
 * lists peers), and bidi overrides/isolates and marks (they can make "laptop" display as
 * another name).
 */
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/** The same set, for replacing every occurrence (also used for names shown when pairing). */
export const UNSAFE_NAME_CHARS_GLOBAL = new RegExp(UNSAFE_NAME_CHARS.source, 'gu');

export interface OwnTxtRecord {
  version: number;
  name: string;
  publicKey: PublicKey;
}

/** A peer's record after parsing: every field checked. */
export interface PeerTxt {
  version: number;
  fingerprint: string;
  name: string;
  /** Present when the peer sent `pk` (ed25519 and ecdsa keys fit; rsa does not). */
  publicKey?: PublicKey;
  /** Every key (lower-cased, first occurrence wins) with its value as UTF-8, unknown keys too. */
  entries: Readonly<Record<string, string>>;
}

export type TxtParseResult = { ok: true; record: PeerTxt } | { ok: false; reason: string };

/** The `pk=` string for a key, or undefined when it does not fit in one TXT string (rsa). */
export function publicKeyEntry(publicKey: PublicKey): Buffer | undefined {
  const entry = Buffer.from(`${TXT_KEYS.publicKey}=${publicKey.blob.toString('base64')}`, 'ascii');
  return entry.length <= TXT_STRING_MAX_BYTES ? entry : undefined;
}

/**
 * Our record as the strings of a TXT resource record, in a fixed order (v, fp, name, pk) so
 * the bytes on the wire are reproducible. The name is cleaned rather than refused: it comes
 * from the host name or config and a daemon should not fail to start over a stray character.
 */
export function encodeTxtRecord(own: OwnTxtRecord): Buffer[] {
  if (!Number.isInteger(own.version) || own.version < 1 || own.version > 65535) {
    throw fail('CLIPSYNC_ERR_INTERNAL', `protocol version ${own.version} does not fit the TXT record (1–65535)`);
  }
  const strings: Buffer[] = [
    Buffer.from(`${TXT_KEYS.version}=${own.version}`, 'ascii'),
    Buffer.from(`${TXT_KEYS.fingerprint}=${own.publicKey.fingerprint}`, 'ascii'),
    Buffer.from(`${TXT_KEYS.name}=${sanitizeDeviceName(own.name)}`, 'utf8'),
  ];
  const pk = publicKeyEntry(own.publicKey);
  if (pk !== undefined) strings.push(pk);
  return strings;
}

/**
 * A device name made safe to advertise: unsafe characters dropped, whitespace trimmed, cut to
 * NAME_MAX_BYTES on a character boundary; "clipsync" if nothing is left.
 */
export function sanitizeDeviceName(name: string): string {
  const cleaned = name.normalize('NFC').replace(UNSAFE_NAME_CHARS_GLOBAL, '').trim();
  const cut = truncateUtf8(cleaned, NAME_MAX_BYTES).trim();
  return cut === '' ? 'clipsync' : cut;
}

/** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (used + size > maxBytes) break;
    out += char;
    used += size;
  }
  return out;
}

/** Why a device name from the network is refused, or undefined if it is acceptable. */
export function deviceNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the device name is empty';
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX_BYTES) return `the device name is longer than ${NAME_MAX_BYTES} bytes`;
  if (UNSAFE_NAME_CHARS.test(name)) return 'the device name contains control or bidirectional-override characters';
  return undefined;
}

/** Splits the TXT strings into key/value entries per RFC 6763 §6.3–6.5. */
export function txtEntries(
  strings: readonly Uint8Array[],
): { ok: true; entries: Record<string, string>; raw: Map<string, Buffer> } | { ok: false; reason: string } {
  if (strings.length > TXT_MAX_STRINGS) return { ok: false, reason: `the TXT record has more than ${TXT_MAX_STRINGS} strings` };
  let total = 0;
  // A null-prototype object: a key named "__proto__" from the network is just a key.
  const entries = Object.create(null) as Record<string, string>;
  const raw = new Map<string, Buffer>();
  for (const string of strings) {
    if (!(string instanceof Uint8Array)) return { ok: false, reason: 'a TXT string is not binary data' };
    if (string.length > TXT_STRING_MAX_BYTES) return { ok: false, reason: `a TXT string is longer than ${TXT_STRING_MAX_BYTES} bytes` };
    total += string.length + 1;
    if (total > TXT_RECORD_MAX_BYTES) return { ok: false, reason: `the TXT record is larger than ${TXT_RECORD_MAX_BYTES} bytes` };
    if (string.length === 0) continue; // the empty record is one empty string
    const bytes = Buffer.from(string.buffer, string.byteOffset, string.length);
    const eq = bytes.indexOf(0x3d); // '='
    const keyBytes = eq === -1 ? bytes : bytes.subarray(0, eq);
    // RFC 6763 §6.4: keys are printable US-ASCII except '=', compared case-insensitively;
    // a string with an empty key is silently ignored, and so is a key we cannot read.
    if (keyBytes.length === 0 || keyBytes.some((b) => b < 0x20 || b > 0x7e)) continue;
    const key = keyBytes.toString('ascii').toLowerCase();
    // §6.4: "If a client receives a TXT record containing the same key more than once, then
    // the client MUST silently ignore all but the first occurrence of that attribute."
    if (Object.prototype.hasOwnProperty.call(entries, key)) continue;
    const value = eq === -1 ? Buffer.alloc(0) : bytes.subarray(eq + 1);
    raw.set(key, value);
    entries[key] = value.toString('utf8');
  }
  return { ok: true, entries, raw };
}

/** Parses a peer's TXT record (the raw strings, as DNS carries them). Never throws. */
export function parseTxtRecord(strings: readonly Uint8Array[]): TxtParseResult {
  const split = txtEntries(strings);
  if (!split.ok) return split;
  const { entries, raw } = split;

  const version = entries[TXT_KEYS.version];
  if (version === undefined) return { ok: false, reason: 'the TXT record has no protocol version (v)' };
  if (!VERSION_RE.test(version) || Number(version) > 65535) return { ok: false, reason: 'the protocol version (v) is not a number from 1 to 65535' };

  const fingerprint = entries[TXT_KEYS.fingerprint];
  if (fingerprint === undefined) return { ok: false, reason: 'the TXT record has no key fingerprint (fp)' };
  if (!isFingerprint(fingerprint)) return { ok: false, reason: 'the key fingerprint (fp) is not SHA256: and 43 base64 characters' };

  // The name is checked on its bytes: a lossy decode would turn invalid UTF-8 into U+FFFD
  // and let two different records show the same name.
  const nameBytes = raw.get(TXT_KEYS.name);
  if (nameBytes === undefined) return { ok: false, reason: 'the TXT record has no device name (name)' };
  const name = decodeUtf8(nameBytes);
  if (name === undefined) return { ok: false, reason: 'the device name is not valid UTF-8' };
  const nameProblem = deviceNameProblem(name);
  if (nameProblem !== undefined) return { ok: false, reason: nameProblem };

  const record: PeerTxt = { version: Number(version), fingerprint, name, entries };
  const pk = entries[TXT_KEYS.publicKey];
  if (pk !== undefined) {
    const key = parsePublicKeyEntry(pk, fingerprint);
    if (!key.ok) return key;
    record.publicKey = key.publicKey;
  }
  return { ok: true, record };
}

/** `SHA256:` + the unpadded base64 of exactly 32 bytes, in canonical form. */
export function isFingerprint(text: string): boolean {
  if (!FINGERPRINT_RE.test(text)) return false;
  const b64 = text.slice('SHA256:'.length);
  const digest = Buffer.from(b64, 'base64');
  // Canonical: 43 characters carry 258 bits, so the last one's low 2 bits must be zero.
  return digest.length === 32 && digest.toString('base64').replace(/=+$/, '') === b64;
}

function parsePublicKeyEntry(value: string, fingerprint: string): { ok: true; publicKey: PublicKey } | { ok: false; reason: string } {
  if (!BASE64_RE.test(value) || value.length === 0) return { ok: false, reason: 'the public key (pk) is not base64' };
  const blob = Buffer.from(value, 'base64');
  if (fingerprintOf(blob) !== fingerprint) {
    return { ok: false, reason: 'the public key (pk) does not match the fingerprint (fp)' };
  }
  try {
    return { ok: true, publicKey: PublicKey.fromBlob(blob) };
  } catch (err) {
    return { ok: false, reason: `the public key (pk) is not usable: ${messageOf(err)}` };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
