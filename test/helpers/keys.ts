import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Makes a key with the real `ssh-keygen`; returns the private key path (`.pub` beside it). */
export function sshKeygen(dir: string, name: string, type: string, options: { bits?: number; passphrase?: string; comment?: string } = {}): string {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', options.passphrase ?? '', '-C', options.comment ?? name, '-f', path];
  if (options.bits !== undefined) args.push('-b', String(options.bits));
  execFileSync('ssh-keygen', args, { stdio: 'ignore' });
  return path;
}

/** The fingerprint field of `ssh-keygen -lf`. */
export function sshFingerprint(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubPath], { encoding: 'utf8' }).split(' ')[1]!;
}
