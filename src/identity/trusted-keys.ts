import { readFile, stat } from 'node:fs/promises';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { parseAuthorizedKeys, type AuthorizedKey } from './authorized-keys.js';
import { watchTrustFiles } from './trust-file-watch.js';

interface CachedFile {
  signature: string;
  keys: AuthorizedKey[];
}

export interface TrustMatch {
  name: string;
  /** The file that trusts the key. */
  file: string;
}

/**
 * Everything the daemon trusts: its own trust store plus the extra authorized_keys files the
 * config names (e.g. ~/.ssh/authorized_keys), all read live. Each file is re-parsed only
 * when it changes, and its skipped lines are logged then, once, with their line numbers.
 */
export class TrustedKeys {
  private readonly cache = new Map<string, CachedFile>();
  private readonly files: string[];

  constructor(
    storeFile: string,
    extraFiles: string[],
    private readonly log: Logger,
  ) {
    this.files = [storeFile, ...extraFiles.filter((f) => f !== storeFile)];
  }

  async find(fingerprint: string): Promise<TrustMatch | undefined> {
    for (const file of this.files) {
      const key = (await this.keysOf(file)).find((k) => k.key.fingerprint === fingerprint);
      if (key !== undefined) return { name: key.name, file };
    }
    return undefined;
  }

  async count(): Promise<number> {
    const fingerprints = new Set<string>();
    for (const file of this.files) for (const k of await this.keysOf(file)) fingerprints.add(k.key.fingerprint);
    return fingerprints.size;
  }

  /**
   * Calls `onChange` whenever any trust file changes, also behind clipsync's back (an editor,
   * ssh-copy-id); returns a function that stops watching.
   */
  watch(onChange: () => void): () => void {
    return watchTrustFiles(this.files, onChange);
  }

  private async keysOf(file: string): Promise<AuthorizedKey[]> {
    let signature: string;
    try {
      const info = await stat(file);
      signature = `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (err) {
      if (this.cache.get(file)?.signature !== 'missing' && (err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ file, reason: messageOf(err) }, 'cannot read a trust file');
      }
      this.cache.set(file, { signature: 'missing', keys: [] });
      return [];
    }
    const cached = this.cache.get(file);
    if (cached?.signature === signature) return cached.keys;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      // An unreadable file trusts nobody (it may have been emptied on purpose), and is
      // reported once per change, not on every handshake.
      this.log.warn({ file, reason: messageOf(err) }, 'cannot read a trust file; trusting none of its keys');
      this.cache.set(file, { signature, keys: [] });
      return [];
    }
    const parsed = parseAuthorizedKeys(text);
    for (const warning of parsed.warnings) this.log.warn({ file, line: warning.lineNumber }, warning.message);
    this.log.info({ file, keys: parsed.keys.length }, 'trust file loaded');
    this.cache.set(file, { signature, keys: parsed.keys });
    return parsed.keys;
  }
}
