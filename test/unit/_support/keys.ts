import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Unit-test support: real keys from ssh-keygen in a throwaway directory. */

export interface KeySpec {
  label: string;
  type: 'ed25519' | 'ecdsa' | 'rsa';
  bits?: number;
  /** The SSH key type name the key should report. */
  sshType: string;
}

export const ALL_KEY_SPECS: readonly KeySpec[] = [
  { label: 'ed25519', type: 'ed25519', sshType: 'ssh-ed25519' },
  { label: 'ecdsa-256', type: 'ecdsa', bits: 256, sshType: 'ecdsa-sha2-nistp256' },
  { label: 'ecdsa-384', type: 'ecdsa', bits: 384, sshType: 'ecdsa-sha2-nistp384' },
  { label: 'ecdsa-521', type: 'ecdsa', bits: 521, sshType: 'ecdsa-sha2-nistp521' },
  { label: 'rsa-2048', type: 'rsa', bits: 2048, sshType: 'ssh-rsa' },
  { label: 'rsa-3072', type: 'rsa', bits: 3072, sshType: 'ssh-rsa' },
];

export interface GeneratedKey {
  spec: KeySpec;
  /** Path of the private key; the public key is at `${path}.pub`. */
  path: string;
  pubPath: string;
  /** The .pub file's line, trimmed. */
  pubLine: string;
  comment: string;
}

export class KeyDir {
  readonly dir: string;

  constructor(prefix = 'clipsync-unit-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Runs ssh-keygen to make a key; throws if ssh-keygen refuses. */
  generate(
    spec: KeySpec,
    options: { name?: string; passphrase?: string; comment?: string; format?: 'PEM' | 'PKCS8' } = {},
  ): GeneratedKey {
    const path = join(this.dir, options.name ?? `id_${spec.label}`);
    const comment = options.comment ?? `${spec.label}@unit-test`;
    const args = ['-q', '-t', spec.type, '-N', options.passphrase ?? '', '-C', comment, '-f', path];
    if (spec.bits !== undefined) args.push('-b', String(spec.bits));
    if (options.format !== undefined) args.push('-m', options.format);
    execFileSync('ssh-keygen', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const pubPath = `${path}.pub`;
    return { spec, path, pubPath, pubLine: readFileSync(pubPath, 'utf8').trim(), comment };
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The fingerprint `ssh-keygen -lf` prints (its second field), e.g. `SHA256:abc…`. */
export function sshKeygenFingerprint(file: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' });
  const fingerprint = out.trim().split(/\s+/)[1];
  if (fingerprint === undefined) throw new Error(`unexpected ssh-keygen -lf output: ${out}`);
  return fingerprint;
}

/** What `ssh-keygen -y -f` prints: the public key line derived from a private key. */
export function sshKeygenPublicLine(privateKeyFile: string): string {
  return execFileSync('ssh-keygen', ['-y', '-f', privateKeyFile], { encoding: 'utf8' }).trim();
}

/** Catches what `fn` throws (sync or async); fails the test when nothing is thrown. */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, but nothing was thrown');
}
