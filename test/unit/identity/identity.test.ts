import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipsyncError } from '../../../src/core/errors.js';
import { generateIdentityFile, loadIdentityFile } from '../../../src/identity/identity.js';
import { PublicKey } from '../../../src/identity/public-key.js';
import { ALL_KEY_SPECS, KeyDir, caught, sshKeygenFingerprint, sshKeygenPublicLine, type GeneratedKey } from '../_support/keys.js';

let keyDir: KeyDir;
const keys = new Map<string, GeneratedKey>();
let protectedKey: GeneratedKey;
let pemKey: GeneratedKey;
let protectedPemKey: GeneratedKey;

beforeAll(() => {
  keyDir = new KeyDir();
  for (const spec of ALL_KEY_SPECS) keys.set(spec.label, keyDir.generate(spec));
  protectedKey = keyDir.generate(ALL_KEY_SPECS[0]!, { name: 'id_protected', passphrase: 'correct horse battery' });
  // Older PEM (-m PEM) formats: an unencrypted ECDSA key and a passphrase-protected RSA key.
  pemKey = keyDir.generate(ALL_KEY_SPECS[1]!, { name: 'id_pem_ecdsa', format: 'PEM' });
  protectedPemKey = keyDir.generate(ALL_KEY_SPECS[4]!, { name: 'id_pem_rsa', format: 'PEM', passphrase: 'correct horse battery' });
});

afterAll(() => keyDir?.remove());

async function identityError(path: string): Promise<ClipsyncError> {
  const err = await caught(() => loadIdentityFile(path));
  expect(err).toBeInstanceOf(ClipsyncError);
  expect((err as ClipsyncError).code).toBe('CLIPSYNC_ERR_IDENTITY');
  return err as ClipsyncError;
}

describe('loadIdentityFile', () => {
  it.each(ALL_KEY_SPECS.map((s) => s.label))('%s: loads, matches the .pub, and signs verifiably', async (label) => {
    const k = keys.get(label)!;
    const id = await loadIdentityFile(k.path);
    expect(id.source).toBe(k.path);
    expect(id.publicKey.type).toBe(k.spec.sshType);
    expect(id.publicKey.fingerprint).toBe(sshKeygenFingerprint(k.pubPath));
    expect(id.publicKey.fingerprint).toBe(PublicKey.fromLine(k.pubLine).fingerprint);

    const data = Buffer.from(`sign me with ${label}`);
    const sig = await id.sign(data);
    expect(sig.algorithm).toBe(k.spec.sshType === 'ssh-rsa' ? 'rsa-sha2-512' : k.spec.sshType);
    const pub = PublicKey.fromLine(k.pubLine);
    expect(pub.verify(data, sig.signature, sig.algorithm)).toBe(true);
    expect(pub.verify(Buffer.from('other data'), sig.signature, sig.algorithm)).toBe(false);
  });

  it('refuses a passphrase-protected key with a hint about ssh-agent', async () => {
    const err = await identityError(protectedKey.path);
    expect(err.message).toMatch(/passphrase/);
    expect(err.message).toContain(protectedKey.path);
    expect(err.hint).toMatch(/ssh-agent/);
  });

  it('loads an unencrypted PEM-format key', async () => {
    expect(readFileSync(pemKey.path, 'utf8')).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    const id = await loadIdentityFile(pemKey.path);
    expect(id.publicKey.type).toBe('ecdsa-sha2-nistp256');
    expect(id.publicKey.fingerprint).toBe(sshKeygenFingerprint(pemKey.pubPath));
    const sig = await id.sign(Buffer.from('pem'));
    expect(id.publicKey.verify(Buffer.from('pem'), sig.signature, sig.algorithm)).toBe(true);
  });

  it('refuses a passphrase-protected PEM key with the same ssh-agent hint', async () => {
    expect(readFileSync(protectedPemKey.path, 'utf8')).toMatch(/ENCRYPTED/);
    const err = await identityError(protectedPemKey.path);
    expect(err.message).toMatch(/passphrase/);
    expect(err.hint).toMatch(/ssh-agent/);
  });

  it('reports a missing file by path, with a hint to run init', async () => {
    const missing = keyDir.path('does-not-exist');
    const err = await identityError(missing);
    expect(err.message).toBe(`no identity key at ${missing}`);
    expect(err.hint).toMatch(/clipsync init/);
  });

  it('refuses a .pub file given as the identity', async () => {
    const k = keys.get('ed25519')!;
    const err = await identityError(k.pubPath);
    expect(err.message).toMatch(/public key/);
    expect(err.message).toContain(k.pubPath);
  });

  it('refuses a file that is not a key', async () => {
    const junk = keyDir.path('junk');
    writeFileSync(junk, 'hello, I am not a key\n');
    const err = await identityError(junk);
    expect(err.message).toContain(junk);
  });

  it('refuses a directory with a read error rather than crashing', async () => {
    const err = await identityError(keyDir.dir);
    expect(err.message).toMatch(/cannot read/);
  });
});

describe('generateIdentityFile', () => {
  it('creates a 0600 ed25519 private key and a .pub that ssh-keygen agrees with', async () => {
    const path = keyDir.path('generated/nested/id_ed25519');
    await generateIdentityFile(path, 'clipsync@unit');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.pub`).isFile()).toBe(true);

    const pubLine = readFileSync(`${path}.pub`, 'utf8').trim();
    expect(pubLine).toMatch(/^ssh-ed25519 \S+ clipsync@unit$/);
    const derived = sshKeygenPublicLine(path).split(' ').slice(0, 2).join(' ');
    expect(pubLine.split(' ').slice(0, 2).join(' ')).toBe(derived);

    const id = await loadIdentityFile(path);
    expect(id.publicKey.type).toBe('ssh-ed25519');
    expect(id.publicKey.fingerprint).toBe(sshKeygenFingerprint(`${path}.pub`));
    expect(id.publicKey.fingerprint).toBe(sshKeygenFingerprint(path));
    const sig = await id.sign(Buffer.from('x'));
    expect(PublicKey.fromLine(pubLine).verify(Buffer.from('x'), sig.signature, sig.algorithm)).toBe(true);
  });

  it('refuses to overwrite an existing key and leaves it unchanged', async () => {
    const path = keyDir.path('id_once');
    await generateIdentityFile(path, 'first');
    const before = readFileSync(path);
    const beforePub = readFileSync(`${path}.pub`);
    const err = await caught(() => generateIdentityFile(path, 'second'));
    expect((err as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readFileSync(`${path}.pub`).equals(beforePub)).toBe(true);
  });

  it('leaves no private key behind when a stray .pub is in the way', async () => {
    const path = keyDir.path('id_stray');
    writeFileSync(`${path}.pub`, 'ssh-ed25519 AAAA leftover\n');
    const err = await caught(() => generateIdentityFile(path, 'new'));
    expect((err as ClipsyncError).code).toBe('CLIPSYNC_ERR_IDENTITY');
    expect((err as ClipsyncError).message).toMatch(/\.pub already exists/);
    expect(() => statSync(path)).toThrow();
    expect(readFileSync(`${path}.pub`, 'utf8')).toBe('ssh-ed25519 AAAA leftover\n');
  });

  it('refuses to overwrite the key that ssh-keygen made', async () => {
    const k = keys.get('ecdsa-256')!;
    const before = readFileSync(k.path);
    await expect(generateIdentityFile(k.path, 'x')).rejects.toThrow();
    expect(readFileSync(k.path).equals(before)).toBe(true);
  });
});
