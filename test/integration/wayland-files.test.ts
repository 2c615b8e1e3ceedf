import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { listTree, makeSampleTree, prefixed } from '../helpers/file-trees.js';
import { Sway } from '../helpers/sway.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const skip = skipUnlessTools({ sway: 'sway', 'wl-paste': 'wl-clipboard', 'wl-copy': 'wl-clipboard', setpriv: 'util-linux' });

function wlPaste(sway: Sway, type: string): string | undefined {
  const r = spawnSync('wl-paste', ['--no-newline', '-t', type], { env: sway.env(), timeout: 30_000 });
  return r.status === 0 ? r.stdout.toString() : undefined;
}

/**
 * Issue 15 on Wayland: a file list copied on compositor A (as a file manager offers it, one
 * `text/uri-list` through wl-copy) is offered on compositor B as B's own local files, whose
 * bytes are those of A's.
 */
describe.skipIf(skip)('files copied on one Wayland desktop, pasted on another', () => {
  let dir: string;
  let sa: Sway;
  let sb: Sway;
  let a: TestDaemon;
  let b: TestDaemon;
  let owner: ChildProcess | undefined;
  let filesDirB: string;

  beforeAll(async () => {
    dir = makeTempDir();
    filesDirB = join(dir, 'b-received');
    [sa, sb] = await Promise.all([Sway.start(), Sway.start()]);
    const { homeA, homeB } = await trustedHomePair(dir, {}, { filesDir: filesDirB });
    a = await TestDaemon.start({ home: homeA, clipboard: 'system', listen: ['tcp://127.0.0.1:0'], env: sa.env() });
    b = await TestDaemon.start({ home: homeB, clipboard: 'system', listen: [], peers: [await a.tcpAddress()], env: sb.env() });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  }, 60_000);

  afterAll(async () => {
    owner?.kill('SIGKILL');
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([sa?.stop(), sb?.stop()]);
    removeDir(dir);
  });

  it('offers B a text/uri-list of local files identical to A’s', async () => {
    const { root, expected } = makeSampleTree(join(dir, 'a-files'));
    owner = spawn('wl-copy', ['--foreground', '-t', 'text/uri-list'], { env: sa.env(), stdio: ['pipe', 'ignore', 'ignore'] });
    owner.stdin!.end(`${pathToFileURL(root).href}\r\n`);
    await b.waitForLog((l) => l.msg === 'clip received' && l['mime'] === 'application/vnd.clipsync.files+json', 'the files on B');
    const uriList = await waitFor(() => {
      const list = wlPaste(sb, 'text/uri-list');
      return list !== undefined && list.includes(pathToFileURL(filesDirB).href) ? list : undefined;
    }, { what: 'a local file list on B' });
    const [pasted] = uriList.split('\r\n').filter((l) => l !== '').map((u) => fileURLToPath(u));
    expect(listTree(join(pasted!, '..'))).toEqual(prefixed(expected, 'project'));
  });
});
