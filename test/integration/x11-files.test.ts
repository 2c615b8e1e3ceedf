import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipToWrite } from '../../src/clipboard/backend.js';
import { X11Backend } from '../../src/clipboard/x11/x11-backend.js';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { listTree, makeSampleTree, prefixed } from '../helpers/file-trees.js';
import { randomClipFile } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';
import { Xvfb } from '../helpers/xvfb.js';

const skip = skipUnlessTools({ Xvfb: 'xvfb', xclip: 'xclip' });
const MiB = 1024 * 1024;

/** What a file manager on `display` gets when it pastes `target` (xclip standing in for it). */
function xPaste(display: string, target: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('xclip', ['-selection', 'clipboard', '-o', '-t', target], { env: { ...process.env, DISPLAY: display }, timeout: 60_000 }, (err, stdout) => resolve(err === null ? stdout : undefined));
  });
}

/** Copies files as Nautilus does: `text/uri-list` and `x-special/gnome-copied-files`, from one owner. */
async function copyFilesInFileManager(app: X11Backend, paths: string[]): Promise<void> {
  const uris = paths.map((p) => pathToFileURL(p).href);
  const formats: Record<string, Buffer> = {
    'x-special/gnome-copied-files': Buffer.from(['copy', ...uris].join('\n')),
    'text/uri-list': Buffer.from(uris.map((u) => `${u}\r\n`).join('')),
  };
  const clip: ClipToWrite = {
    selection: 'clipboard',
    id: `file-manager-${Date.now()}`,
    local: true,
    formats: Object.entries(formats).map(([mime, data]) => ({ mime, size: data.length, open: async () => Readable.from([data]) })),
  };
  expect(await app.write(clip)).toBe('written');
}

/** The local paths a pasted `text/uri-list` names. */
function pathsOf(uriList: string): string[] {
  return uriList.split('\r\n').filter((l) => l !== '').map((u) => fileURLToPath(u));
}

/**
 * Issue 15 on two X11 desktops: files copied in a file manager on display A are offered on
 * display B as local files, in the formats file managers read, and the files there are
 * byte-identical. Over B's eager limit the file list is offered at once and the files arrive
 * when something pastes it.
 */
describe.skipIf(skip)('files copied in a file manager on one X11 desktop, pasted on another', () => {
  let dir: string;
  let xa: Xvfb;
  let xb: Xvfb;
  let a: TestDaemon;
  let b: TestDaemon;
  let app: X11Backend;
  let filesDirB: string;

  beforeAll(async () => {
    dir = makeTempDir();
    filesDirB = join(dir, 'b-received');
    [xa, xb] = await Promise.all([Xvfb.start(), Xvfb.start()]);
    const { homeA, homeB } = await trustedHomePair(dir, {}, { eagerLimitBytes: 4 * MiB, filesDir: filesDirB });
    a = await TestDaemon.start({ home: homeA, clipboard: 'system', listen: ['tcp://127.0.0.1:0'], env: xa.env() });
    b = await TestDaemon.start({ home: homeB, clipboard: 'system', listen: [], peers: [await a.tcpAddress()], env: xb.env() });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
    app = await X11Backend.connect(xa.display, pino({ level: 'silent' }));
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([xa?.stop(), xb?.stop()]);
    removeDir(dir);
  });

  it('a folder tree with nested folders, unicode names, empty files and an executable is pasteable on B as local files, byte for byte', async () => {
    const { root, expected } = makeSampleTree(join(dir, 'a-files'));
    const loose = join(dir, 'a-files', 'loose note.txt');
    randomClipFile(join(dir, 'a-files'), 'loose note.txt', 5000);
    await copyFilesInFileManager(app, [root, loose]);
    await b.waitForLog((l) => l.msg === 'clip received' && l['mime'] === 'application/vnd.clipsync.files+json', 'the files on B');

    const uriList = await waitFor(async () => {
      const list = await xPaste(xb.display, 'text/uri-list');
      return list !== undefined && list.includes(filesDirB) ? list : undefined;
    }, { what: 'a file list on B' });
    const [pastedRoot, pastedLoose] = pathsOf(uriList);
    expect(pastedRoot!.startsWith(filesDirB)).toBe(true);
    expect(listTree(join(pastedRoot!, '..'))).toEqual({ ...prefixed(expected, 'project'), 'loose note.txt': listTree(join(dir, 'a-files'))['loose note.txt'] });
    expect(pastedLoose!.endsWith('/loose note.txt')).toBe(true);

    const gnome = await xPaste(xb.display, 'x-special/gnome-copied-files');
    expect(gnome).toBe(['copy', ...pathsOf(uriList).map((p) => pathToFileURL(p).href)].join('\n'));
    // B wrote them itself: reading its own file list back is not a new copy to send to A.
    const clipOnA = (await a.status()).clip?.id;
    expect((await b.status()).clip?.id).toBe(clipOnA);
  });

  it('over the eager limit, B offers the file list at once; a paste waits while the files arrive', async () => {
    const from = join(dir, 'a-large');
    mkdirSync(from);
    const parts = [0, 1, 2].map((i) => randomClipFile(from, `part ${i}.bin`, 3 * MiB));
    await copyFilesInFileManager(app, [from]);
    await b.waitForLog((l) => l.msg === 'files clip announced', 'the announcement on B');
    const uriList = await waitFor(async () => {
      const list = await xPaste(xb.display, 'text/uri-list');
      return list !== undefined && list.includes('a-large') ? list : undefined;
    }, { what: 'the large file list on B', timeoutMs: 60_000 });
    const [pasted] = pathsOf(uriList);
    const listing = listTree(pasted!);
    for (const [i, p] of parts.entries()) expect(listing[`part ${i}.bin`]).toMatchObject({ sha256: p.sha256, size: p.size });
  });
});
