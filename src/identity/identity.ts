import { sign } from 'node:crypto';
import { chmod, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail } from '../core/errors.js';
import { generateOpenSshEd25519 } from './openssh-key-writer.js';
import { ecdsaDerToSsh } from './signature-format.js';
import { digestForKeyType } from './key-objects.js';
import { PublicKey, signatureAlgorithmFor, isSupportedKeyType } from './public-key.js';
import { parsePrivateKeyFile } from './ssh-keys.js';

export interface Signature {
  /** SSH signature algorithm name, e.g. `ssh-ed25519`, `rsa-sha2-512`. */
  algorithm: string;
  signature: Buffer;
}

/** This daemon's SSH identity: its public key, and a way to sign with the private half. */
export interface Identity {
  readonly publicKey: PublicKey;
  /** Where the key came from, for status output (a file path). */
  readonly source: string;
  sign(data: Buffer): Promise<Signature>;
}

/** Reads an OpenSSH (or PEM) private key file. An encrypted key is refused with a hint. */
export async function loadIdentityFile(path: string): Promise<Identity> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(
      'CLIPSYNC_ERR_IDENTITY',
      code === 'ENOENT' ? `no identity key at ${path}` : `cannot read the identity key ${path} (${code ?? 'error'})`,
      { hint: 'run `clipsync init` to create one, or `clipsync init --identity PATH` to use an existing OpenSSH key' },
    );
  }
  const parsed = parsePrivateKeyFile(text);
  if (parsed.kind === 'encrypted') {
    throw fail('CLIPSYNC_ERR_IDENTITY', `the identity key ${path} is protected by a passphrase`, {
      hint: `keep it in ssh-agent instead: \`ssh-add ${path}\`, then \`clipsync init --agent --identity ${path}.pub\``,
    });
  }
  if (parsed.kind === 'public') {
    throw fail('CLIPSYNC_ERR_IDENTITY', `${path} holds a public key; the identity must be a private key`);
  }
  if (parsed.kind === 'invalid') {
    throw fail('CLIPSYNC_ERR_IDENTITY', `${path} is not an SSH private key clipsync can read (${parsed.reason})`);
  }
  if (parsed.kind === 'unsupported' || !isSupportedKeyType(parsed.type)) {
    throw fail('CLIPSYNC_ERR_IDENTITY', `key type ${parsed.type} is not supported for an identity`);
  }
  const publicKey = PublicKey.fromBlob(parsed.publicBlob, parsed.comment);
  const algorithm = signatureAlgorithmFor(publicKey.type);
  const digest = digestForKeyType(publicKey.type);
  const isEcdsa = publicKey.type.startsWith('ecdsa-');
  const privateKey = parsed.privateKey; // parsed once, not per signature (key-objects.ts)
  return {
    publicKey,
    source: path,
    async sign(data: Buffer): Promise<Signature> {
      const raw = sign(digest, data, privateKey); // DER for ECDSA, PKCS#1 v1.5 for RSA, 64 bytes for Ed25519
      return { algorithm, signature: isEcdsa ? ecdsaDerToSsh(raw) : raw };
    },
  };
}

/**
 * Creates a new ed25519 key pair in OpenSSH format: the private key at `path` (mode 0600)
 * and the public key at `path.pub`. Refuses to overwrite anything (flag `wx`).
 */
export async function generateIdentityFile(path: string, comment: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const pair = generateOpenSshEd25519(comment);
  await writeFile(path, pair.privateKey, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  try {
    await writeFile(`${path}.pub`, `${pair.publicKeyLine}\n`, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    // Never leave a private key beside a .pub of another key.
    await unlink(path).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw fail('CLIPSYNC_ERR_IDENTITY', `${path}.pub already exists without its private key`, { hint: 'move it away, then run `clipsync init` again' });
    }
    throw err;
  }
}
