import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail } from '../core/errors.js';
import { formatAuthorizedKey, parseAuthorizedKeys, type AuthorizedKey, type AuthorizedKeysWarning } from './authorized-keys.js';
import type { PublicKey } from './public-key.js';
import { withFileLock } from './file-lock.js';

export interface TrustedKey {
  fingerprint: string;
  name: string;
  key: PublicKey;
}

export interface TrustSnapshot {
  keys: TrustedKey[];
  warnings: AuthorizedKeysWarning[];
}

/**
 * The trust store: an authorized_keys-format file whose comments are peer names. It is
 * always read fresh from disk, so a `clipsync trust` from another process takes effect on
 * the next check without a restart.
 */
export class OwnTrustFile {
  constructor(readonly file: string) {}

  async read(): Promise<TrustSnapshot> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [], warnings: [] };
      throw fail('CLIPSYNC_ERR_TRUST', `cannot read the trust file ${this.file}`, { cause: err });
    }
    const parsed = parseAuthorizedKeys(text);
    return { keys: dedupe(parsed.keys), warnings: parsed.warnings };
  }

  async find(fingerprint: string): Promise<TrustedKey | undefined> {
    return (await this.read()).keys.find((k) => k.fingerprint === fingerprint);
  }

  /** Adds keys; a key already trusted keeps its place and takes the new name if one is given. */
  async add(entries: { key: PublicKey; name: string }[]): Promise<{ added: TrustedKey[]; updated: TrustedKey[] }> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    return withFileLock(this.file, () => this.addLocked(entries));
  }

  private async addLocked(entries: { key: PublicKey; name: string }[]): Promise<{ added: TrustedKey[]; updated: TrustedKey[] }> {
    const current = await this.read();
    const keys = [...current.keys];
    const added: TrustedKey[] = [];
    const updated: TrustedKey[] = [];
    for (const entry of entries) {
      const existing = keys.findIndex((k) => k.fingerprint === entry.key.fingerprint);
      const name = oneLine(entry.name);
      const trusted = { fingerprint: entry.key.fingerprint, name, key: entry.key };
      if (existing === -1) {
        keys.push(trusted);
        added.push(trusted);
      } else if (name !== '' && keys[existing]!.name !== name) {
        keys[existing] = trusted;
        updated.push(trusted);
      }
    }
    if (added.length > 0 || updated.length > 0) await this.write(keys);
    return { added, updated };
  }

  /** Removes every key whose fingerprint or name equals `selector`. */
  async remove(selector: string): Promise<TrustedKey[]> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    return withFileLock(this.file, async () => {
      const current = await this.read();
      const removed = current.keys.filter((k) => k.fingerprint === selector || k.name === selector);
      if (removed.length > 0) await this.write(current.keys.filter((k) => !removed.includes(k)));
      return removed;
    });
  }

  /** Rewrites the file atomically (write a sibling, then rename), keeping it private to the user. */
  private async write(keys: TrustedKey[]): Promise<void> {
    const body = [
      '# clipsync trusted keys (authorized_keys format; the comment is the peer name)',
      ...keys.map((k) => formatAuthorizedKey(k.key, k.name)),
      '',
    ].join('\n');
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, body, { mode: 0o600 });
    await chmod(temp, 0o600); // a leftover temp file keeps its old mode otherwise
    await rename(temp, this.file);
  }
}

/** Names are stored as authorized_keys comments, which end at the line. */
function oneLine(name: string): string {
  return name.replace(/\s+/g, ' ').trim();
}

function dedupe(keys: AuthorizedKey[]): TrustedKey[] {
  const seen = new Map<string, TrustedKey>();
  for (const { key, name } of keys) {
    if (!seen.has(key.fingerprint)) seen.set(key.fingerprint, { fingerprint: key.fingerprint, name, key });
  }
  return [...seen.values()];
}
