import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey } from '../../../src/identity/public-key.js';
import { TrustedKeys } from '../../../src/identity/trusted-keys.js';
import { ALL_KEY_SPECS, KeyDir } from '../_support/keys.js';
import { captureLog } from '../_support/logger.js';

let keyDir: KeyDir;
let ed: PublicKey;
let ec: PublicKey;
let rsa: PublicKey;
let counter = 0;
const stops: (() => void)[] = [];

const spec = (label: string) => ALL_KEY_SPECS.find((s) => s.label === label)!;

beforeAll(() => {
  keyDir = new KeyDir();
  ed = PublicKey.fromLine(keyDir.generate(spec('ed25519')).pubLine);
  ec = PublicKey.fromLine(keyDir.generate(spec('ecdsa-256')).pubLine);
  rsa = PublicKey.fromLine(keyDir.generate(spec('rsa-2048')).pubLine);
});

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

afterAll(() => keyDir?.remove());

/** Fresh paths for a store file and an extra authorized_keys file (neither exists yet). */
function freshFiles(): { store: string; extra: string } {
  counter += 1;
  mkdirSync(keyDir.path(`book-${counter}`));
  return { store: keyDir.path(`book-${counter}/trusted_keys`), extra: keyDir.path(`book-${counter}/authorized_keys`) };
}

const line = (key: PublicKey, name: string): string => key.toLine(name);

describe('TrustedKeys: lookups', () => {
  it('finds keys from the store file and from an extra authorized_keys file, with name and file', async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, `${line(ed, 'laptop')}\n`);
    writeFileSync(extra, `# my authorized_keys\n${line(ec, 'desktop box')}\n`);
    const { log } = captureLog();
    const book = new TrustedKeys(store, [extra], log);
    expect(await book.find(ed.fingerprint)).toEqual({ name: 'laptop', file: store });
    expect(await book.find(ec.fingerprint)).toEqual({ name: 'desktop box', file: extra });
    expect(await book.find(rsa.fingerprint)).toBeUndefined();
    expect(await book.count()).toBe(2);
  });

  it('the store file wins when a key is in both, and a key in both counts once', async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, `${line(ed, 'store name')}\n`);
    writeFileSync(extra, `${line(ed, 'extra name')}\n${line(rsa, 'rsa')}\n`);
    const book = new TrustedKeys(store, [extra], captureLog().log);
    expect(await book.find(ed.fingerprint)).toEqual({ name: 'store name', file: store });
    expect(await book.count()).toBe(2);
  });

  it('reads the store file once even when it is also named as an extra file', async () => {
    const { store } = freshFiles();
    writeFileSync(store, `${line(ed, 'laptop')}\n`);
    const captured = captureLog();
    const book = new TrustedKeys(store, [store, store], captured.log);
    expect(await book.find(ed.fingerprint)).toEqual({ name: 'laptop', file: store });
    expect(await book.count()).toBe(1);
    expect(captured.at('info').filter((l) => l['file'] === store)).toHaveLength(1);
  });

  it('a key removed from a file stops being found on the next find(); a key added starts being found', async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, '');
    writeFileSync(extra, `${line(ed, 'laptop')}\n${line(ec, 'desktop')}\n`);
    const book = new TrustedKeys(store, [extra], captureLog().log);
    expect(await book.find(ed.fingerprint)).toBeDefined();
    expect(await book.find(ec.fingerprint)).toBeDefined();

    writeFileSync(extra, `${line(ec, 'desktop')}\n`); // shorter: a different size
    expect(await book.find(ed.fingerprint)).toBeUndefined();
    expect(await book.find(ec.fingerprint)).toEqual({ name: 'desktop', file: extra });
    expect(await book.count()).toBe(1);

    writeFileSync(extra, `${line(ec, 'desktop')}\n${line(rsa, 'server')}\n`);
    expect(await book.find(rsa.fingerprint)).toEqual({ name: 'server', file: extra });

    writeFileSync(store, `${line(ed, 'back again')}\n`);
    expect(await book.find(ed.fingerprint)).toEqual({ name: 'back again', file: store });
  });

  it('a renamed key is found under its new name after the file changes', async () => {
    const { store } = freshFiles();
    writeFileSync(store, `${line(ed, 'old')}\n`);
    const book = new TrustedKeys(store, [], captureLog().log);
    expect((await book.find(ed.fingerprint))?.name).toBe('old');
    writeFileSync(store, `${line(ed, 'a new name')}\n`);
    expect((await book.find(ed.fingerprint))?.name).toBe('a new name');
  });

  it('a file that is deleted stops trusting its keys, and trusts them again when it comes back', async () => {
    const { store, extra } = freshFiles();
    writeFileSync(extra, `${line(ec, 'desktop')}\n`);
    const book = new TrustedKeys(store, [extra], captureLog().log);
    expect(await book.find(ec.fingerprint)).toBeDefined();
    rmSync(extra);
    expect(await book.find(ec.fingerprint)).toBeUndefined();
    writeFileSync(extra, `${line(ec, 'desktop')}\n`);
    expect(await book.find(ec.fingerprint)).toBeDefined();
  });

  it('a missing extra file (and a missing store) means no keys from it, no crash and no warning', async () => {
    const { store, extra } = freshFiles();
    const captured = captureLog();
    const book = new TrustedKeys(store, [extra, keyDir.path('no/such/dir/authorized_keys')], captured.log);
    expect(await book.find(ed.fingerprint)).toBeUndefined();
    expect(await book.count()).toBe(0);
    expect(captured.at('warn')).toEqual([]);
    // It starts working as soon as the file appears.
    writeFileSync(extra, `${line(ed, 'laptop')}\n`);
    expect(await book.find(ed.fingerprint)).toEqual({ name: 'laptop', file: extra });
  });

  it('a trust file that cannot be read (a directory) gives no keys and a warning, not a crash', async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, `${line(ed, 'laptop')}\n`);
    mkdirSync(extra);
    const captured = captureLog();
    const book = new TrustedKeys(store, [extra], captured.log);
    expect(await book.find(ec.fingerprint)).toBeUndefined();
    expect(await book.find(ed.fingerprint)).toEqual({ name: 'laptop', file: store });
    const warnings = captured.at('warn').filter((l) => l['file'] === extra);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]!['msg']).toMatch(/cannot read a trust file/);
  });
});

describe('TrustedKeys: warnings', () => {
  it('logs a file’s skipped lines once per change, with file and line number', async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, `${line(ed, 'laptop')}\n`);
    writeFileSync(
      extra,
      [
        line(ec, 'desktop'),
        `from="10.0.0.1" ${line(rsa, 'restricted')}`,
        'ssh-dss AAAAB3NzaC1kc3MAAACBAP== old',
        '',
        `ssh-ed25519 AAAAnotbase64atall!!! broken`,
      ].join('\n') + '\n',
    );
    const captured = captureLog();
    const book = new TrustedKeys(store, [extra], captured.log);
    const warningsFor = (file: string) => captured.at('warn').filter((l) => l['file'] === file);

    expect(await book.find(ec.fingerprint)).toEqual({ name: 'desktop', file: extra });
    // The key with options is not trusted: clipsync cannot honour the restriction.
    expect(await book.find(rsa.fingerprint)).toBeUndefined();
    expect(await book.count()).toBe(2);
    await book.find(ed.fingerprint);

    expect(warningsFor(extra).map((w) => w['line'])).toEqual([2, 3, 5]);
    expect(warningsFor(extra)[0]!['msg']).toMatch(/options/);
    expect(warningsFor(extra)[1]!['msg']).toMatch(/ssh-dss/);
    expect(warningsFor(store)).toEqual([]);
    expect(captured.at('info').filter((l) => l['file'] === extra)).toHaveLength(1);

    // A change (a different size) re-reads the file and logs its problems again, once.
    writeFileSync(extra, `${line(ec, 'desktop')}\nnot a key line at all\n`);
    expect(await book.find(ec.fingerprint)).toBeDefined();
    await book.find(rsa.fingerprint);
    await book.count();
    expect(warningsFor(extra).map((w) => w['line'])).toEqual([2, 3, 5, 2]);
    expect(captured.at('info').filter((l) => l['file'] === extra)).toHaveLength(2);

    // No change: nothing more.
    await book.find(ec.fingerprint);
    expect(warningsFor(extra)).toHaveLength(4);
  });
});

describe('TrustedKeys.watch', () => {
  /** A promise resolved by the watch callback, and a way to stop watching. */
  function watching(book: TrustedKeys): { changed: Promise<void>; calls: () => number } {
    let calls = 0;
    let fire!: () => void;
    const changed = new Promise<void>((resolve) => (fire = resolve));
    stops.push(
      book.watch(() => {
        calls++;
        fire();
      }),
    );
    return { changed, calls: () => calls };
  }

  /**
   * Applies `change` and waits for the callback. Should a change ever go unreported (a file
   * system whose watch misses it, before the minute's safety poll), it is made again with new
   * content each time; the test ends as soon as the callback fires.
   */
  async function changeUntilCalled(changed: Promise<void>, change: (attempt: number) => Promise<void>): Promise<void> {
    let fired = false;
    void changed.then(() => (fired = true));
    for (let attempt = 0; !fired; attempt++) {
      if (attempt >= 10) throw new Error('the watch callback never fired');
      await change(attempt);
      await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 3500))]);
    }
  }

  it('calls back after the store file changes, and find() then sees the change', { timeout: 60_000 }, async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, `${line(ed, 'laptop')}\n`);
    const book = new TrustedKeys(store, [extra], captureLog().log);
    expect(await book.find(ec.fingerprint)).toBeUndefined();
    const { changed, calls } = watching(book);
    await changeUntilCalled(changed, (attempt) =>
      writeFile(store, `${line(ed, 'laptop')}\n${line(ec, `desktop ${'x'.repeat(attempt)}`.trim())}\n`),
    );
    expect(calls()).toBeGreaterThanOrEqual(1);
    expect(await book.find(ec.fingerprint)).toMatchObject({ file: store });
  });

  it('calls back when an extra file that did not exist is created', { timeout: 60_000 }, async () => {
    const { store, extra } = freshFiles();
    writeFileSync(store, '');
    const book = new TrustedKeys(store, [extra], captureLog().log);
    expect(await book.find(rsa.fingerprint)).toBeUndefined();
    const { changed } = watching(book);
    await changeUntilCalled(changed, (attempt) => writeFile(extra, `${line(rsa, `server${attempt}`)}\n`));
    expect(await book.find(rsa.fingerprint)).toMatchObject({ file: extra });
  });

  it('calls back when a key is removed from an extra file', { timeout: 60_000 }, async () => {
    const { store, extra } = freshFiles();
    writeFileSync(extra, `${line(ed, 'laptop')}\n${line(ec, 'desktop')}\n`);
    const book = new TrustedKeys(store, [extra], captureLog().log);
    expect(await book.find(ed.fingerprint)).toBeDefined();
    const { changed } = watching(book);
    await changeUntilCalled(changed, (attempt) => writeFile(extra, `${line(ec, 'desktop')}\n${'#'.repeat(attempt)}\n`));
    expect(await book.find(ed.fingerprint)).toBeUndefined();
  });
});
