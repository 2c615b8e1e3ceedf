import { readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthorizedKeys } from '../../../src/identity/authorized-keys.js';
import { PublicKey } from '../../../src/identity/public-key.js';
import { OwnTrustFile } from '../../../src/identity/own-trust-file.js';
import { ALL_KEY_SPECS, KeyDir } from '../_support/keys.js';

let keyDir: KeyDir;
let ed: PublicKey;
let ec: PublicKey;
let rsa: PublicKey;
let counter = 0;

const spec = (label: string) => ALL_KEY_SPECS.find((s) => s.label === label)!;

beforeAll(() => {
  keyDir = new KeyDir();
  ed = PublicKey.fromLine(keyDir.generate(spec('ed25519')).pubLine);
  ec = PublicKey.fromLine(keyDir.generate(spec('ecdsa-256')).pubLine);
  rsa = PublicKey.fromLine(keyDir.generate(spec('rsa-2048')).pubLine);
});

afterAll(() => keyDir?.remove());

/** A store in a fresh directory that does not exist yet. */
function freshStore(): OwnTrustFile {
  counter += 1;
  return new OwnTrustFile(keyDir.path(`store-${counter}/sub/trusted_keys`));
}

describe('OwnTrustFile', () => {
  it('reads a missing file as empty', async () => {
    const store = freshStore();
    expect(await store.read()).toEqual({ keys: [], warnings: [] });
    expect(await store.find(ed.fingerprint)).toBeUndefined();
    expect(await store.remove(ed.fingerprint)).toEqual([]);
  });

  it('adds keys, writes a 0600 file parseAuthorizedKeys can read, and finds them', async () => {
    const store = freshStore();
    const result = await store.add([
      { key: ed, name: 'laptop' },
      { key: ec, name: 'desktop' },
    ]);
    expect(result.added.map((k) => k.name)).toEqual(['laptop', 'desktop']);
    expect(result.updated).toEqual([]);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);

    const parsed = parseAuthorizedKeys(readFileSync(store.file, 'utf8'));
    expect(parsed.warnings).toEqual([]);
    expect(parsed.keys.map((k) => [k.name, k.key.fingerprint])).toEqual([
      ['laptop', ed.fingerprint],
      ['desktop', ec.fingerprint],
    ]);
    expect((await store.find(ec.fingerprint))?.name).toBe('desktop');
    expect((await store.read()).keys.map((k) => k.fingerprint)).toEqual([ed.fingerprint, ec.fingerprint]);
    // The atomic write leaves no temp file behind.
    expect(readdirSync(dirname(store.file))).toEqual(['trusted_keys']);
  });

  it('does not duplicate a key added twice, and does not rewrite when nothing changed', async () => {
    const store = freshStore();
    await store.add([{ key: ed, name: 'laptop' }]);
    const before = statSync(store.file).mtimeMs;
    const again = await store.add([
      { key: ed, name: 'laptop' },
      { key: ed, name: '' },
    ]);
    expect(again).toEqual({ added: [], updated: [] });
    expect(statSync(store.file).mtimeMs).toBe(before);
    expect((await store.read()).keys).toHaveLength(1);
    expect((await store.read()).keys[0]!.name).toBe('laptop');
  });

  it('dedupes one key given twice in a single add', async () => {
    const store = freshStore();
    const result = await store.add([
      { key: rsa, name: 'a' },
      { key: rsa, name: 'b' },
    ]);
    expect(result.added.map((k) => k.name)).toEqual(['a']);
    expect(result.updated.map((k) => k.name)).toEqual(['b']);
    const keys = (await store.read()).keys;
    expect(keys.map((k) => k.name)).toEqual(['b']);
  });

  it('renames a trusted key in place when added again with a new name', async () => {
    const store = freshStore();
    await store.add([
      { key: ed, name: 'laptop' },
      { key: ec, name: 'desktop' },
    ]);
    const result = await store.add([{ key: ed.withComment('ignored comment'), name: 'new laptop' }]);
    expect(result.added).toEqual([]);
    expect(result.updated.map((k) => [k.fingerprint, k.name])).toEqual([[ed.fingerprint, 'new laptop']]);
    const keys = (await store.read()).keys;
    expect(keys.map((k) => k.name)).toEqual(['new laptop', 'desktop']);
  });

  it('dedupes a hand-edited file with the same key twice, first name wins', async () => {
    const store = freshStore();
    await store.add([{ key: ed, name: 'seed' }]);
    writeFileSync(store.file, `${ed.toLine('first')}\n${ec.toLine('other')}\n${ed.toLine('second')}\n`);
    const keys = (await store.read()).keys;
    expect(keys.map((k) => k.name)).toEqual(['first', 'other']);
  });

  it('passes through warnings from the file', async () => {
    const store = freshStore();
    await store.add([{ key: ed, name: 'seed' }]);
    writeFileSync(store.file, `from="x" ${ed.toLine('a')}\n${ec.toLine('b')}\n`);
    const snapshot = await store.read();
    expect(snapshot.keys.map((k) => k.name)).toEqual(['b']);
    expect(snapshot.warnings.map((w) => w.lineNumber)).toEqual([1]);
  });

  it('removes by fingerprint', async () => {
    const store = freshStore();
    await store.add([
      { key: ed, name: 'laptop' },
      { key: ec, name: 'desktop' },
    ]);
    const removed = await store.remove(ed.fingerprint);
    expect(removed.map((k) => k.name)).toEqual(['laptop']);
    expect((await store.read()).keys.map((k) => k.name)).toEqual(['desktop']);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
  });

  it('removes every key with a given name', async () => {
    const store = freshStore();
    await store.add([
      { key: ed, name: 'twin' },
      { key: ec, name: 'keep' },
      { key: rsa, name: 'twin' },
    ]);
    const removed = await store.remove('twin');
    expect(removed.map((k) => k.fingerprint).sort()).toEqual([ed.fingerprint, rsa.fingerprint].sort());
    expect((await store.read()).keys.map((k) => k.name)).toEqual(['keep']);
  });

  it('removing something unknown changes nothing', async () => {
    const store = freshStore();
    await store.add([{ key: ed, name: 'laptop' }]);
    const before = readFileSync(store.file, 'utf8');
    expect(await store.remove('nobody')).toEqual([]);
    expect(await store.remove('SHA256:AAAA')).toEqual([]);
    expect(readFileSync(store.file, 'utf8')).toBe(before);
  });

  it('flattens multi-line names when writing', async () => {
    const store = freshStore();
    await store.add([{ key: ed, name: 'two\nlines' }]);
    const parsed = parseAuthorizedKeys(readFileSync(store.file, 'utf8'));
    expect(parsed.warnings).toEqual([]);
    expect(parsed.keys.map((k) => k.name)).toEqual(['two lines']);
  });
});
