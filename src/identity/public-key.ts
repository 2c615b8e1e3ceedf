import { createHash, type KeyObject } from 'node:crypto';
import { digestForKeyType, verifyWith } from './key-objects.js';
import { fail, isClipsyncError } from '../core/errors.js';
import { ecdsaSshToDer } from './signature-format.js';
import { parsePublicBlob } from './ssh-keys.js';

/** Key types an identity or a trusted key may have. DSA is refused: OpenSSH itself dropped it. */
export const SUPPORTED_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;
export type KeyType = (typeof SUPPORTED_KEY_TYPES)[number];

/** RSA keys shorter than this are refused, as OpenSSH 9 does. */
export const MIN_RSA_BITS = 2048;

export function isSupportedKeyType(type: string): type is KeyType {
  return (SUPPORTED_KEY_TYPES as readonly string[]).includes(type);
}

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * Signature algorithm names as SSH uses them. RSA signs with SHA-512 (rsa-sha2-512); the
 * SHA-1 `ssh-rsa` signature algorithm is never produced or accepted.
 */
export function signatureAlgorithmFor(type: KeyType): string {
  return type === 'ssh-rsa' ? 'rsa-sha2-512' : type;
}

const hashForRsaAlgorithm: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' };

/** A public key: what is trusted, shown and verified against. */
export class PublicKey {
  readonly type: KeyType;
  readonly blob: Buffer;
  readonly fingerprint: string;
  readonly comment: string;
  /** Node's key object, made once when the blob is parsed: verifying does not parse again. */
  private readonly keyObject: KeyObject;

  private constructor(blob: Buffer, type: KeyType, comment: string, keyObject: KeyObject) {
    this.type = type;
    this.blob = blob;
    this.fingerprint = fingerprintOf(this.blob);
    this.comment = comment;
    this.keyObject = keyObject;
  }

  /** From `TYPE BASE64 [COMMENT]` (an authorized_keys line without options, or a .pub file). */
  static fromLine(line: string): PublicKey {
    const parts = line.trim().split(/\s+/);
    const [type, body] = parts;
    if (type === undefined || body === undefined) {
      throw fail('CLIPSYNC_ERR_KEY_PARSE', 'a public key line needs a key type and base64 key data');
    }
    if (!isSupportedKeyType(type)) {
      throw fail('CLIPSYNC_ERR_KEY_PARSE', `key type ${type} is not supported`, {
        hint: `use one of: ${SUPPORTED_KEY_TYPES.join(', ')}`,
      });
    }
    const blob = Buffer.from(body, 'base64');
    const key = PublicKey.fromBlob(blob);
    if (key.type !== type) {
      throw fail('CLIPSYNC_ERR_KEY_PARSE', `the key data is a ${key.type} key but the line says ${type}`);
    }
    return key.withComment(parts.slice(2).join(' '));
  }

  /** From the SSH wire-format key blob (as carried in the handshake). */
  static fromBlob(blob: Buffer, comment = ''): PublicKey {
    let parsed: { type: string; key: KeyObject };
    try {
      parsed = parsePublicBlob(blob);
    } catch (err) {
      if (isClipsyncError(err) && /^key type /.test(err.message)) throw err;
      throw fail('CLIPSYNC_ERR_KEY_PARSE', 'the public key data could not be parsed', { cause: err });
    }
    if (!isSupportedKeyType(parsed.type)) {
      throw fail('CLIPSYNC_ERR_KEY_PARSE', `key type ${parsed.type} is not supported`);
    }
    if (parsed.type === 'ssh-rsa' && (parsed.key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
      throw fail('CLIPSYNC_ERR_KEY_PARSE', `RSA keys need at least ${MIN_RSA_BITS} bits`);
    }
    return new PublicKey(Buffer.from(blob), parsed.type, comment, parsed.key);
  }

  /** The key as one authorized_keys line, `TYPE BASE64 COMMENT`. */
  toLine(comment = this.comment): string {
    const base = `${this.type} ${this.blob.toString('base64')}`;
    return comment ? `${base} ${comment}` : base;
  }

  withComment(comment: string): PublicKey {
    return new PublicKey(this.blob, this.type, comment, this.keyObject);
  }

  /** Checks a signature made with `algorithm` (an SSH signature algorithm name). */
  verify(data: Buffer, signature: Buffer, algorithm: string): boolean {
    let digest: string | null;
    let raw = signature;
    if (this.type === 'ssh-rsa') {
      const hash = hashForRsaAlgorithm[algorithm];
      if (hash === undefined) return false; // ssh-rsa (SHA-1) and anything unknown
      digest = hash;
    } else {
      if (algorithm !== this.type) return false;
      digest = digestForKeyType(this.type);
      if (this.type.startsWith('ecdsa-')) {
        const der = ecdsaSshToDer(signature);
        if (der === undefined) return false;
        raw = der;
      }
    }
    return verifyWith(this.keyObject, digest, data, raw);
  }
}
