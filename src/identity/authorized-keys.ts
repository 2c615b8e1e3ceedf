import { isClipsyncError, messageOf } from '../core/errors.js';
import { PublicKey, isSupportedKeyType } from './public-key.js';

/** One usable line of an authorized_keys file. */
export interface AuthorizedKey {
  key: PublicKey;
  /** The comment, which clipsync uses as the peer's name. */
  name: string;
  lineNumber: number;
}

export interface AuthorizedKeysWarning {
  lineNumber: number;
  message: string;
}

export interface ParsedAuthorizedKeys {
  keys: AuthorizedKey[];
  warnings: AuthorizedKeysWarning[];
}

/**
 * Parses authorized_keys text. Blank lines and comments are ignored. A line that starts with
 * options (`from="…"`, `command="…"`, …) is skipped with a warning: clipsync cannot honour
 * those restrictions, and accepting the key without them would grant more than its owner
 * allowed. Unsupported key types are skipped with a warning too; nothing is silently accepted.
 */
export function parseAuthorizedKeys(text: string): ParsedAuthorizedKeys {
  const keys: AuthorizedKey[] = [];
  const warnings: AuthorizedKeysWarning[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const firstToken = line.split(/\s+/, 1)[0] ?? '';
    if (!isSupportedKeyType(firstToken)) {
      const looksLikeKeyType = /^(ssh-|ecdsa-|sk-)/.test(firstToken);
      warnings.push({
        lineNumber,
        message: looksLikeKeyType
          ? `key type ${firstToken} is not supported; line skipped`
          : hasOptionsPrefix(line)
            ? 'key options are not supported; line skipped'
            : 'not a public key: expected a key type such as ssh-ed25519 followed by the key in base64; line skipped',
      });
      return;
    }
    try {
      const key = PublicKey.fromLine(line);
      keys.push({ key, name: key.comment, lineNumber });
    } catch (err) {
      warnings.push({ lineNumber, message: `${isClipsyncError(err) ? err.message : messageOf(err)}; line skipped` });
    }
  });
  return { keys, warnings };
}

export function formatAuthorizedKey(key: PublicKey, name: string): string {
  // A name becomes the comment field: keep it on one line.
  return key.toLine(name.replace(/\s+/g, ' ').trim());
}

/**
 * Whether a line is options then a key (`from="10.0.0.1",no-pty ssh-ed25519 AAAA…`), as
 * opposed to text that is no key at all: a key type and base64 come after the first blank.
 */
function hasOptionsPrefix(line: string): boolean {
  return /^\S+\s+(?:ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/]+={0,3}(?:\s|$)/.test(line) || /^\S*="[^"]*"/.test(line);
}
