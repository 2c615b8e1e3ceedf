import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sshString, uint32 } from './ssh-wire.js';

/**
 * Writes a new ed25519 key in OpenSSH's own private key format ("openssh-key-v1",
 * unencrypted), the format `ssh-keygen -t ed25519` produces (ssh-keys.ts reads it back).
 * ssh2's generateKeyPairSync, used before, emitted a malformed key now and then (about 1 in
 * 300 in our measurements; neither ssh2 nor ssh-keygen could read those back).
 */
export function generateOpenSshEd25519(comment: string): { privateKey: string; publicKeyLine: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const type = Buffer.from('ssh-ed25519');
  const publicBlob = Buffer.concat([sshString(type), sshString(pub)]);

  const check = randomBytes(4);
  const unpadded = Buffer.concat([
    check,
    check,
    sshString(type),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(Buffer.from(comment, 'utf8')),
  ]);
  // Pad to the cipher block size (8 for "none") with the bytes 1, 2, 3, …
  const padLength = (8 - (unpadded.length % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const privateSection = Buffer.concat([unpadded, padding]);

  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString(Buffer.from('none')),
    sshString(Buffer.from('none')),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicBlob),
    sshString(privateSection),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  seed.fill(0);
  return {
    privateKey: ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n'),
    publicKeyLine: `ssh-ed25519 ${publicBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
  };
}
