import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey } from '../../../src/identity/public-key.js';
import { agentIdentities, agentSign, SSH_AGENT_RSA_SHA2_512 } from '../../../src/identity/ssh-agent-client.js';
import { parsePrivateKeyFile, parsePublicBlob, publicBlobOf } from '../../../src/identity/ssh-keys.js';
import { sshString } from '../../../src/identity/ssh-wire.js';
import { TestSshAgent } from '../../helpers/ssh-agent.js';
import { skipUnlessTools } from '../../helpers/tools.js';
import { ALL_KEY_SPECS, KeyDir, type GeneratedKey } from '../_support/keys.js';

const skip = skipUnlessTools({ 'ssh-keygen': 'openssh-client', 'ssh-agent': 'openssh-client', 'ssh-add': 'openssh-client' });

const blobOf = (key: GeneratedKey): Buffer => Buffer.from(key.pubLine.split(' ')[1]!, 'base64');

describe.skipIf(skip)('SSH keys read without ssh2', () => {
  let keyDir: KeyDir;
  const keys = new Map<string, GeneratedKey>();

  beforeAll(() => {
    keyDir = new KeyDir();
    for (const spec of ALL_KEY_SPECS) keys.set(spec.label, keyDir.generate(spec));
  });
  afterAll(() => keyDir?.remove());

  it.each(ALL_KEY_SPECS.map((s) => s.label))('reads an OpenSSH %s private key: the public blob and comment ssh-keygen wrote', (label) => {
    const key = keys.get(label)!;
    const parsed = parsePrivateKeyFile(readFileSync(key.path));
    expect(parsed).toMatchObject({ kind: 'private', type: key.spec.sshType, comment: key.comment });
    if (parsed.kind !== 'private') return;
    expect(parsed.publicBlob.equals(blobOf(key))).toBe(true);
    expect(parsePublicBlob(blobOf(key)).type).toBe(key.spec.sshType);
  });

  it.each([
    ['PEM', 'ecdsa-384'],
    ['PEM', 'rsa-2048'],
    ['PKCS8', 'ecdsa-256'],
    ['PKCS8', 'rsa-3072'],
  ] as const)('reads a %s %s private key', (format, label) => {
    const spec = ALL_KEY_SPECS.find((s) => s.label === label)!;
    const key = keyDir.generate(spec, { name: `id_${format}_${label}`, format });
    const parsed = parsePrivateKeyFile(readFileSync(key.path));
    expect(parsed).toMatchObject({ kind: 'private', type: spec.sshType });
    if (parsed.kind === 'private') expect(parsed.publicBlob.equals(blobOf(key))).toBe(true);
  });

  it('tells a passphrase-protected key (OpenSSH or PEM), a public key, an unsupported type and damage apart', () => {
    const ed = ALL_KEY_SPECS[0]!;
    const rsa = ALL_KEY_SPECS[4]!;
    expect(parsePrivateKeyFile(readFileSync(keyDir.generate(ed, { name: 'id_locked', passphrase: 'pw pw pw pw' }).path))).toEqual({ kind: 'encrypted' });
    expect(parsePrivateKeyFile(readFileSync(keyDir.generate(rsa, { name: 'id_locked_pem', passphrase: 'pw pw pw pw', format: 'PEM' }).path))).toEqual({ kind: 'encrypted' });
    expect(parsePrivateKeyFile(readFileSync(keys.get('ed25519')!.pubPath))).toEqual({ kind: 'public' });
    const ed448 = generateKeyPairSync('ed448').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(parsePrivateKeyFile(Buffer.from(ed448))).toEqual({ kind: 'unsupported', type: 'ed448' });
    expect(parsePrivateKeyFile(Buffer.from('hello'))).toMatchObject({ kind: 'invalid' });
    // The check words of the private section differ: a damaged (or wrongly decrypted) key.
    const text = readFileSync(keys.get('ed25519')!.path, 'utf8');
    const body = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const at = body.indexOf(Buffer.from('ssh-ed25519'), body.indexOf(Buffer.from('ssh-ed25519')) + 1) - 4 - 8;
    body[at]! ^= 1;
    const damaged = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    expect(parsePrivateKeyFile(Buffer.from(damaged))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/check words/) });
    const truncated = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.subarray(0, 120).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    expect(parsePrivateKeyFile(Buffer.from(truncated))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/ends early/) });
  });

  it('refuses public blobs that are short, too long, or not a key of their type', () => {
    const good = blobOf(keys.get('ecdsa-256')!);
    expect(() => parsePublicBlob(good.subarray(0, good.length - 1))).toThrow(/ends early/);
    expect(() => parsePublicBlob(Buffer.concat([good, Buffer.from([0])]))).toThrow(/too many/);
    const offCurve = Buffer.from(good);
    offCurve[offCurve.length - 1]! ^= 1; // y no longer fits x
    expect(() => parsePublicBlob(offCurve)).toThrow(/not valid/);
    const shortEd = Buffer.concat([sshString('ssh-ed25519'), sshString(randomBytes(31))]);
    expect(() => parsePublicBlob(shortEd)).toThrow(/32 bytes/);
    expect(() => parsePublicBlob(Buffer.concat([sshString('ssh-dss'), sshString(randomBytes(8))]))).toThrow(/ssh-dss is not supported/);
    // RSA with e = 1 (every "signature" would verify) or an even e.
    const n = Buffer.concat([Buffer.from([0]), randomBytes(256)]);
    for (const e of [[1], [0], [4], []]) {
      expect(() => parsePublicBlob(Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.from(e)), sshString(n)]))).toThrow(/exponent/);
    }
  });

  it('makes the public blob of a key object, as ssh-keygen writes it', () => {
    for (const label of ['ed25519', 'ecdsa-521', 'rsa-3072']) {
      const key = keys.get(label)!;
      const parsed = parsePrivateKeyFile(readFileSync(key.path));
      if (parsed.kind !== 'private') throw new Error(`${label} did not parse`);
      expect(publicBlobOf(parsed.privateKey).equals(blobOf(key))).toBe(true);
    }
  });

  describe('through a real ssh-agent', () => {
    let agent: TestSshAgent;

    beforeAll(async () => {
      agent = await TestSshAgent.start(keyDir.dir);
      for (const label of ['ed25519', 'ecdsa-384', 'rsa-3072']) await agent.add(keys.get(label)!.path, '');
    });
    afterAll(async () => agent?.stop());

    it('lists the keys it holds, with their comments', async () => {
      const held = await agentIdentities(agent.socket);
      expect(held.map((k) => k.comment).sort()).toEqual(['ecdsa-384@unit-test', 'ed25519@unit-test', 'rsa-3072@unit-test']);
      expect(held.some((k) => k.blob.equals(blobOf(keys.get('ed25519')!)))).toBe(true);
    });

    it('signs with each, in signatures that verify (RSA with rsa-sha2-512), and answers a key it does not hold with a failure', async () => {
      const data = randomBytes(100);
      for (const label of ['ed25519', 'ecdsa-384', 'rsa-3072']) {
        const key = PublicKey.fromLine(keys.get(label)!.pubLine);
        const signed = await agentSign(agent.socket, key.blob, data, key.type === 'ssh-rsa' ? SSH_AGENT_RSA_SHA2_512 : 0);
        expect(signed.algorithm).toBe(key.type === 'ssh-rsa' ? 'rsa-sha2-512' : key.type);
        expect(key.verify(data, signed.signature, signed.algorithm)).toBe(true);
      }
      await expect(agentSign(agent.socket, blobOf(keys.get('ecdsa-256')!), data, 0)).rejects.toThrow(/failure/);
    });

    it('says so when nothing listens at the socket', async () => {
      const dead = keyDir.path('no-agent.sock');
      writeFileSync(dead, '');
      await expect(agentIdentities(dead)).rejects.toThrow(/ECONNREFUSED|ENOTSOCK|connect/);
    });
  });
});
