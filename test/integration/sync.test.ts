import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, homePair, initHome, startTrustedPair, trust } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const UNICODE = 'héllo wörld — 你好, мир 👋🏽 e\u0301 \u202eRTL\u202c\r\nline\ttab\u0000nul\n';

/** Copies on one daemon and checks the exact bytes come out of `paste` on the other. */
async function expectSync(from: TestDaemon, to: TestDaemon, content: Buffer, mime?: string): Promise<void> {
  const args = ['copy', '--wait', '--json', ...(mime ? ['--mime', mime] : [])];
  const copied = JSON.parse((await from.cliOk(args, { input: content })).text) as { peers: { status: string }[]; size: number };
  expect(copied.size).toBe(content.length);
  expect(copied.peers.map((p) => p.status)).toEqual(['delivered']);
  const pasted = await to.cliOk(['paste']);
  expect(pasted.stdout.equals(content)).toBe(true);
}

for (const transport of ['tcp', 'unix'] as const) {
  describe(`two daemons over ${transport}`, () => {
    let dir: string;
    let a: TestDaemon;
    let b: TestDaemon;

    beforeAll(async () => {
      dir = makeTempDir();
      ({ a, b } = await startTrustedPair(dir, { listen: transport === 'tcp' ? undefined : `unix:${join(dir, 'a-peer.sock')}` }));
    });

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      removeDir(dir);
    });

    it('syncs text from the listener to the dialer and back', async () => {
      await expectSync(a, b, Buffer.from('from alpha\n'));
      await expectSync(b, a, Buffer.from('from beta\n'));
    });

    it('keeps unicode text byte-exact', async () => {
      await expectSync(a, b, Buffer.from(UNICODE, 'utf8'));
      await expectSync(b, a, Buffer.from(`${UNICODE}back`, 'utf8'));
    });

    it('keeps binary content byte-exact, across several chunks', async () => {
      const binary = randomBytes(1024 * 1024 + 17);
      await expectSync(a, b, binary, 'application/octet-stream');
      const pasted = await b.cliOk(['status', '--json']);
      expect(JSON.parse(pasted.text).clip).toMatchObject({ mime: 'application/octet-stream', size: binary.length });
    });

    it('does not echo a received clip back to its sender', async () => {
      const content = Buffer.from(`no echo ${Date.now()}`);
      await expectSync(a, b, content);
      const id = JSON.parse((await a.cliOk(['status', '--json'])).text).clip.id as string;
      // b acknowledged the clip; it must not have offered it back to a as a new copy.
      const localCopiesOnB = b.logs.filter((l) => l.msg === 'local copy' && typeof l['clip'] === 'string' && id.startsWith(l['clip'] as string));
      const receivedOnA = a.logs.filter((l) => l.msg === 'clip received' && typeof l['clip'] === 'string' && id.startsWith(l['clip'] as string));
      expect(localCopiesOnB).toHaveLength(0);
      expect(receivedOnA).toHaveLength(0);
    });

    it('shows each other as connected peers with names and fingerprints', async () => {
      const [statusA, statusB] = await Promise.all([a.status(), b.status()]);
      const peersOfA = await a.peers();
      expect(peersOfA).toHaveLength(1);
      expect(peersOfA[0]).toMatchObject({ fingerprint: statusB.fingerprint, name: 'beta', state: 'connected' });
      const peersOfB = await b.peers();
      expect(peersOfB[0]).toMatchObject({ fingerprint: statusA.fingerprint, name: 'alpha', state: 'connected' });
      expect(statusB.peers).toEqual({ connected: 1, known: 1 });
    });
  });
}

describe('a new peer and a newer clip', () => {
  let dir: string;
  const daemons: TestDaemon[] = [];

  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    removeDir(dir);
  });

  it('gives a peer that connects later the current clip', async () => {
    const { homeA, homeB } = await homePair(dir);
    await trust(homeA, homeB);
    await trust(homeB, homeA);
    const a = await TestDaemon.start({ home: homeA });
    daemons.push(a);
    await a.cliOk(['copy'], { input: 'copied before beta existed' });
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()] });
    daemons.push(b);
    await b.waitForLog((l) => l.msg === 'clip received', 'the current clip on connect');
    expect((await b.cliOk(['paste'])).text).toBe('copied before beta existed');
  });

  it('keeps exactly one connection when both daemons dial each other', async () => {
    const homeC = join(dir, 'c');
    const homeD = join(dir, 'd');
    await initHome(homeC, 'gamma');
    await initHome(homeD, 'delta');
    await trust(homeC, homeD);
    await trust(homeD, homeC);
    const sockC = `unix:${join(dir, 'c.sock')}`;
    const sockD = `unix:${join(dir, 'd.sock')}`;
    const c = await TestDaemon.start({ home: homeC, listen: [sockC], peers: [sockD] });
    daemons.push(c);
    const d = await TestDaemon.start({ home: homeD, listen: [sockD], peers: [sockC] });
    daemons.push(d);
    // Each side ends with one entry for the other, connected: its --peer address and the
    // inbound connection were recognised as the same key, and one connection was dropped.
    const converged = (daemon: TestDaemon) =>
      waitFor(async () => {
        const peers = await daemon.peers();
        return peers.length === 1 && peers[0]!.state === 'connected' ? peers : undefined;
      }, { what: `one connected entry on ${daemon.home}` });
    await Promise.all([converged(c), converged(d)]);
    await c.cliOk(['copy', '--wait'], { input: 'one connection' });
    expect((await d.cliOk(['paste'])).text).toBe('one connection');
    expect((await c.status()).peers).toEqual({ connected: 1, known: 1 });
    // The clip arrived once: one "clip received" on d.
    expect(d.logs.filter((l) => l.msg === 'clip received')).toHaveLength(1);
  });
});
