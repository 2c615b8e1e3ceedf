import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityFile, type Identity } from '../../src/identity/identity.js';
import { clipTree } from '../../src/sync/clip.js';
import { DATA_MIME, MANIFEST_MIME } from '../../src/files/manifest.js';
import { FrameType } from '../../src/wire/frame.js';
import { TestDaemon, initHome, mergeConfig } from '../helpers/daemon.js';
import { runCliOk } from '../helpers/cli.js';
import { listTree } from '../helpers/file-trees.js';
import { sshKeygen } from '../helpers/keys.js';
import { PairingClient } from '../helpers/pairing-client.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const MANIFEST = MANIFEST_MIME;
const DATA = DATA_MIME;

/**
 * A hostile peer (trusted, so past the handshake) offering files clips whose manifests try to
 * write outside the clip's directory, clash, or exceed the entry cap. Each must be refused as
 * a whole with a reason naming the entry, and nothing may appear anywhere but nothing at all:
 * the per-clip directory is removed with the refusal.
 */
describe('files clips from a hostile peer', () => {
  let dir: string;
  let home: string;
  let filesDir: string;
  let daemon: TestDaemon;
  let mallory: Identity;
  let client: PairingClient;

  beforeAll(async () => {
    dir = makeTempDir();
    home = join(dir, 'alpha');
    filesDir = join(dir, 'deep', 'er', 'received');
    mkdirSync(join(dir, 'deep', 'er'), { recursive: true });
    await initHome(home, 'alpha');
    mergeConfig(home, { maxFileEntries: 10, filesDir, eagerLimitBytes: 1024 * 1024 });
    mallory = await loadIdentityFile(sshKeygen(dir, 'mallory', 'ed25519'));
    await runCliOk(['trust', readFileSync(join(dir, 'mallory.pub'), 'utf8'), '--home', home]);
    daemon = await TestDaemon.start({ home });
    client = await PairingClient.connect(await daemon.tcpAddress(), mallory, 'mallory', { pairing: false });
    await client.established();
  });
  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });

  let ts = Date.now();
  /** Offers a files clip with this manifest (and data), answers its WANT with every byte and END, and resolves with the ACK. */
  async function offerFiles(manifest: unknown, data: Buffer = Buffer.alloc(0)): Promise<{ status: string; reason?: string }> {
    const manifestBytes = Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    const body = Buffer.concat([manifestBytes, data]);
    const formats = [
      { mime: MANIFEST, size: manifestBytes.length },
      { mime: DATA, size: data.length },
    ];
    const { id, leaves } = clipTree(formats, body);
    const seen = client.frames.length;
    client.send(FrameType.offer, { id, formats, size: body.length, ts: ++ts, origin: mallory.publicKey.fingerprint }, leaves);
    const want = await client.until(() => client.frames.slice(seen).find((f) => f.type === FrameType.want && f.header['id'] === id), 'WANT');
    const window = Number(want.header['window']);
    for (let at = 0; at < Math.min(body.length, window); at += 900 * 1024) {
      client.send(FrameType.data, { id, offset: at }, body.subarray(at, Math.min(body.length, window, at + 900 * 1024)));
    }
    if (window >= body.length) client.send(FrameType.end, { id });
    const ack = await client.until(() => client.frames.slice(seen).find((f) => f.type === FrameType.ack && f.header['id'] === id), 'ACK');
    return { status: String(ack.header['status']), ...(ack.header['reason'] !== undefined ? { reason: String(ack.header['reason']) } : {}) };
  }

  const files = (entries: unknown[], totalBytes = 1) => ({ version: 1, count: entries.length, totalBytes, cut: false, entries });

  const cases: [string, unknown, RegExp][] = [
    ['a parent-directory name', files([{ p: '../x', s: 1 }]), /entry 1 "\.\.\/x": the name has a "\.\." component/],
    ['an absolute path', files([{ p: '/etc/x', s: 1 }]), /entry 1 "\/etc\/x": the name is an absolute path/],
    ['a climb out through a folder', files([{ p: 'a', d: 1 }, { p: 'a/../../x', s: 1 }]), /entry 2 "a\/\.\.\/\.\.\/x": the name has a "\.\." component/],
    ['a duplicate name', files([{ p: 'x', s: 1 }, { p: 'x', s: 0 }]), /entry 2 "x": the name is listed twice/],
    ['a file used as a folder', files([{ p: 'x', s: 1 }, { p: 'x/y', s: 0 }]), /entry 2 "x\/y": its folder is not listed before it/],
    ['an empty component', files([{ p: 'a', d: 1 }, { p: 'a//b', s: 1 }]), /entry 2 "a\/\/b": the name has an empty component/],
    ['a "." component', files([{ p: './x', s: 1 }]), /entry 1 "\.\/x": the name has a "\." component/],
    ['a NUL byte', files([{ p: 'x\u0000y', s: 1 }]), /entry 1 "x\\u0000y": the name contains a NUL byte/],
    ['a name over 255 bytes', files([{ p: 'n'.repeat(256), s: 1 }]), /entry 1 "n{40}…": a component is over 255 bytes/],
    ['sizes that do not add up', files([{ p: 'x', s: 5 }]), /the files' sizes pass the 1 bytes the clip carries/],
    ['more entries than the cap', files(Array.from({ length: 11 }, (_, i) => ({ p: `f${i}`, s: i === 0 ? 1 : 0 }))), /11 entries are over this machine's limit of 10/],
    ['not JSON', '{"version":1,', /its manifest is unusable: it is not valid JSON/],
  ];

  for (const [what, manifest, reason] of cases) {
    it(`refuses ${what}, writing nothing`, async () => {
      const before = listTree(dir);
      const ack = await offerFiles(manifest, Buffer.from('!'));
      expect(ack.status).toBe('rejected');
      expect(ack.reason).toMatch(reason);
      // Nothing new anywhere under the test's directory: no file, no folder, no part left behind.
      const after = listTree(dir);
      const added = Object.keys(after).filter((k) => !(k in before) && !k.startsWith('alpha/') && k !== 'deep/er/received');
      expect(added).toEqual([]);
      expect(readdirSync(filesDir)).toEqual([]);
    });
  }

  it('refuses a manifest too large to hold, before asking for a byte of it', async () => {
    const manifestSize = 65 * 1024 * 1024;
    const formats = [
      { mime: MANIFEST, size: manifestSize },
      { mime: DATA, size: 0 },
    ];
    // The leaf hashes need not match any real bytes: the OFFER alone must be refused.
    const leaves = Buffer.alloc(Math.ceil(manifestSize / (1024 * 1024)) * 32, 1);
    const { rootId } = await import('../../src/content/content-hash.js');
    const { formatsTrailer } = await import('../../src/sync/clip.js');
    const id = rootId(leaves, formatsTrailer(formats));
    const seen = client.frames.length;
    client.send(FrameType.offer, { id, formats, size: manifestSize, ts: ++ts, origin: mallory.publicKey.fingerprint }, leaves);
    const ack = await client.until(() => client.frames.slice(seen).find((f) => f.type === FrameType.ack && f.header['id'] === id), 'ACK');
    expect(ack.header['status']).toBe('rejected');
    expect(String(ack.header['reason'])).toMatch(/its manifest of 68157440 bytes is over the 67108864 this machine reads/);
    expect(client.frames.slice(seen).some((f) => f.type === FrameType.want)).toBe(false);
    expect(readdirSync(filesDir)).toEqual([]);
  });

  it('refuses a bad manifest fetched ahead of an announced clip, too', async () => {
    const size = 2 * 1024 * 1024;
    const ack = await offerFiles(files([{ p: '../../escape', s: size }], size), Buffer.alloc(size, 7));
    expect(ack.status).toBe('rejected');
    expect(ack.reason).toMatch(/entry 1 "\.\.\/\.\.\/escape"/);
    expect(readdirSync(filesDir)).toEqual([]);
  });

  it('still takes a well-formed files clip from the same peer afterwards', async () => {
    const ack = await offerFiles(files([{ p: 'ok', d: 1 }, { p: 'ok/fine.txt', s: 5 }], 5), Buffer.from('fine!'));
    expect(ack.status).toBe('applied');
    const [id] = readdirSync(filesDir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(readFileSync(join(filesDir, id!, 'ok', 'fine.txt'), 'utf8')).toBe('fine!');
  });
});
