import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAuthorizedKey, parseAuthorizedKeys } from '../../../src/identity/authorized-keys.js';
import { PublicKey } from '../../../src/identity/public-key.js';
import { ALL_KEY_SPECS, KeyDir, sshKeygenFingerprint, type GeneratedKey } from '../_support/keys.js';

let keyDir: KeyDir;
let ed: GeneratedKey;
let ec: GeneratedKey;
let rsa: GeneratedKey;

const spec = (label: string) => ALL_KEY_SPECS.find((s) => s.label === label)!;

beforeAll(() => {
  keyDir = new KeyDir();
  ed = keyDir.generate(spec('ed25519'), { comment: 'laptop' });
  ec = keyDir.generate(spec('ecdsa-521'), { comment: 'work desktop' });
  rsa = keyDir.generate(spec('rsa-2048'), { comment: 'old-server' });
});

afterAll(() => keyDir?.remove());

const body = (k: GeneratedKey) => k.pubLine.split(' ')[1]!;

describe('parseAuthorizedKeys', () => {
  it('returns nothing for empty text', () => {
    expect(parseAuthorizedKeys('')).toEqual({ keys: [], warnings: [] });
  });

  it('ignores comments and blank lines, and names each key by its comment', () => {
    const text = ['# trusted machines', '', ed.pubLine, '   ', '   # indented comment', ec.pubLine, '\t', rsa.pubLine, ''].join('\n');
    const { keys, warnings } = parseAuthorizedKeys(text);
    expect(warnings).toEqual([]);
    expect(keys.map((k) => [k.name, k.lineNumber])).toEqual([
      ['laptop', 3],
      ['work desktop', 6],
      ['old-server', 8],
    ]);
    expect(keys[0]!.key.fingerprint).toBe(sshKeygenFingerprint(ed.pubPath));
    expect(keys[1]!.key.fingerprint).toBe(sshKeygenFingerprint(ec.pubPath));
    expect(keys[2]!.key.fingerprint).toBe(sshKeygenFingerprint(rsa.pubPath));
    expect(keys[1]!.key.type).toBe('ecdsa-sha2-nistp521');
  });

  it('accepts CRLF line endings', () => {
    const { keys, warnings } = parseAuthorizedKeys(`${ed.pubLine}\r\n${ec.pubLine}\r\n`);
    expect(warnings).toEqual([]);
    expect(keys.map((k) => k.name)).toEqual(['laptop', 'work desktop']);
  });

  it('gives an empty name to a key without a comment', () => {
    const { keys } = parseAuthorizedKeys(`ssh-ed25519 ${body(ed)}`);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.name).toBe('');
  });

  it('skips lines with options, warning with their line numbers', () => {
    const text = [
      '# header',
      `from="10.0.0.0/8" ${ed.pubLine}`,
      ec.pubLine,
      `command="/bin/true",no-pty ${rsa.pubLine}`,
      `no-port-forwarding ${ed.pubLine}`,
      `restrict ${ed.pubLine}`,
    ].join('\n');
    const { keys, warnings } = parseAuthorizedKeys(text);
    expect(keys.map((k) => k.name)).toEqual(['work desktop']);
    expect(warnings.map((w) => w.lineNumber)).toEqual([2, 4, 5, 6]);
    for (const w of warnings) expect(w.message).toMatch(/options are not supported; line skipped/);
  });

  it('says a garbage line is not a public key, rather than blaming options', () => {
    const text = ['hello world', 'AAAAC3NzaC1lZDI1NTE5AAAAI', `from="a b, c" ${ed.pubLine}`].join('\n');
    const { keys, warnings } = parseAuthorizedKeys(text);
    expect(keys).toEqual([]);
    expect(warnings.map((w) => [w.lineNumber, w.message])).toEqual([
      [1, 'not a public key: expected a key type such as ssh-ed25519 followed by the key in base64; line skipped'],
      [2, 'not a public key: expected a key type such as ssh-ed25519 followed by the key in base64; line skipped'],
      [3, 'key options are not supported; line skipped'],
    ]);
  });

  it('warns about unsupported key types by name', () => {
    const text = [
      'ssh-dss AAAAB3NzaC1kc3MAAACBAOq7 dsa-host',
      `sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAI security-key`,
      'sk-ecdsa-sha2-nistp256@openssh.com AAAA sk',
      'ecdsa-sha2-nistp999 AAAA odd',
      ed.pubLine,
    ].join('\n');
    const { keys, warnings } = parseAuthorizedKeys(text);
    expect(keys.map((k) => k.name)).toEqual(['laptop']);
    expect(warnings).toEqual([
      { lineNumber: 1, message: 'key type ssh-dss is not supported; line skipped' },
      { lineNumber: 2, message: 'key type sk-ssh-ed25519@openssh.com is not supported; line skipped' },
      { lineNumber: 3, message: 'key type sk-ecdsa-sha2-nistp256@openssh.com is not supported; line skipped' },
      { lineNumber: 4, message: 'key type ecdsa-sha2-nistp999 is not supported; line skipped' },
    ]);
  });

  it('warns about garbage key data without dropping later keys', () => {
    const text = [
      'ssh-ed25519 !!!not-base64!!! broken',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 truncated',
      'ssh-rsa', // type with no data
      `ssh-rsa ${body(ed)} mislabelled`,
      ec.pubLine,
    ].join('\n');
    const { keys, warnings } = parseAuthorizedKeys(text);
    expect(keys.map((k) => [k.name, k.lineNumber])).toEqual([['work desktop', 5]]);
    expect(warnings.map((w) => w.lineNumber)).toEqual([1, 2, 3, 4]);
    for (const w of warnings) expect(w.message).toMatch(/line skipped$/);
    expect(warnings[3]!.message).toMatch(/ssh-ed25519/);
  });

  it('keeps duplicate keys (the trust store dedupes)', () => {
    const { keys } = parseAuthorizedKeys(`${ed.pubLine}\nssh-ed25519 ${body(ed)} again`);
    expect(keys.map((k) => k.name)).toEqual(['laptop', 'again']);
    expect(keys[0]!.key.fingerprint).toBe(keys[1]!.key.fingerprint);
  });
});

describe('formatAuthorizedKey', () => {
  it('writes TYPE BASE64 NAME with the name flattened to one line', () => {
    const key = PublicKey.fromLine(ed.pubLine);
    expect(formatAuthorizedKey(key, 'my\nmulti\t line  name ')).toBe(`ssh-ed25519 ${body(ed)} my multi line name`);
    expect(formatAuthorizedKey(key, '')).toBe(`ssh-ed25519 ${body(ed)}`);
  });

  it('round-trips through parseAuthorizedKeys', () => {
    const key = PublicKey.fromLine(rsa.pubLine);
    const { keys, warnings } = parseAuthorizedKeys(formatAuthorizedKey(key, 'renamed box'));
    expect(warnings).toEqual([]);
    expect(keys[0]!.name).toBe('renamed box');
    expect(keys[0]!.key.fingerprint).toBe(key.fingerprint);
  });
});
