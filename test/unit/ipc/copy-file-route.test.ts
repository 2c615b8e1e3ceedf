import { appendFileSync, chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CopyResponse } from '../../../src/ipc/schema.js';
import { readCopyFile } from '../../../src/ipc/copy-file.js';
import { BINARY_MIME, TEXT_MIME, clipId } from '../../../src/sync/clip.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';
import { errorOf, fakeDaemon, startControlApi, type ControlApi } from './control-api.js';

/** `POST /v1/copy/file?path=`: the daemon reads the file the CLI names (docs/CONTROL-API.md). */

let api: ControlApi | undefined;
let dir: string;
beforeAll(() => {
  dir = makeTempDir();
});
afterAll(() => removeDir(dir));
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const copyFile = (path: string, query: Record<string, string> = {}) => ({ method: 'POST' as const, path: '/v1/copy/file', query: { path, ...query } });

describe('POST /v1/copy/file', () => {
  it('reads the file by its path, with the type guessed from its bytes or given', async () => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const path = join(dir, 'a file with spaces.txt');
    writeFileSync(path, 'from disk');
    expect(await api.client.json<CopyResponse>(copyFile(path))).toEqual({ id: clipId([{ mime: TEXT_MIME, size: 9 }], Buffer.from('from disk')), mime: TEXT_MIME, size: 9, peers: [] });
    expect(fake.sync.copies[0]!.body).toEqual({ data: Buffer.from('from disk') });
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    expect((await api.client.json<CopyResponse>(copyFile(empty, { mime: BINARY_MIME }))).size).toBe(0);
  });

  it.each([
    ['a relative path', 'relative/file', /must be given by an absolute path/, 'CLIPSYNC_ERR_USAGE'],
    ['a missing file', '/nonexistent/clipsync-test', /cannot read \/nonexistent\/clipsync-test \(no such file\)/, 'CLIPSYNC_ERR_FILE_UNREADABLE'],
    ['a directory', '/', /\/ is not a regular file/, 'CLIPSYNC_ERR_USAGE'],
  ])('refuses %s with a code naming it, and copies nothing', async (_what, path, message, code) => {
    const fake = fakeDaemon();
    api = await startControlApi(fake.view);
    const err = await errorOf(api.client.json(copyFile(path)));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(fake.sync.copies).toEqual([]);
  });

  it('refuses a file over maxClipBytes before reading it', async () => {
    const fake = fakeDaemon({ maxClipBytes: 4 });
    api = await startControlApi(fake.view);
    const path = join(dir, 'big');
    writeFileSync(path, '12345');
    expect((await errorOf(api.client.json(copyFile(path)))).code).toBe('CLIPSYNC_ERR_CLIP_TOO_LARGE');
  });
});

describe('readCopyFile', () => {
  it('refuses a file that grows while it is read, and names it', async () => {
    const path = join(dir, 'growing');
    writeFileSync(path, Buffer.alloc(64 * 1024, 1));
    // A store that appends to the file while it copies it: the file changes mid-copy.
    const store = {
      storeLocalFile: async (from: string) => {
        const size = statSync(from).size;
        appendFileSync(from, 'more');
        return { id: 'x'.repeat(64), size, path: '/dev/null', leaves: Buffer.alloc(32), copy: { start: async () => undefined, cancel: async () => undefined } };
      },
    };
    const err = await readCopyFile(path, null, 1 << 30, 1024, store as never).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'CLIPSYNC_ERR_FILE_CHANGED', message: expect.stringContaining(path) });
  });

  it('reads what the user can read, and refuses what it cannot with the path and the reason', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    writeFileSync(join(locked, 'f'), 'x');
    chmodSync(locked, 0o000);
    try {
      const err = await readCopyFile(join(locked, 'f'), null, 1 << 30, 1024, undefined).catch((e: unknown) => e as { code: string; message: string });
      if (process.getuid?.() === 0) {
        // root reads past permissions: the daemon reads what its user can, no more, no less
        expect(err).toMatchObject({ body: { data: Buffer.from('x') } });
      } else {
        expect(err).toMatchObject({ code: 'CLIPSYNC_ERR_USAGE', message: `cannot read ${join(locked, 'f')} (permission denied)` });
      }
    } finally {
      chmodSync(locked, 0o700);
    }
  });
});
