import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsDaemon, initMeshHome } from '../helpers/netns-daemon.js';
import { skipUnlessNetns, useTestbed } from '../helpers/netns.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Pairing as a user on a LAN does it: no address typed. Each host finds the other by mDNS,
 * `clipsync pair` lists it by name, `pair NAME` and an accept on each side make them trust
 * each other, and discovery then connects them. Hosts are network namespaces (root needed;
 * skipped elsewhere with a message, never in CI).
 */
const skip = skipUnlessNetns();

interface Candidate {
  name: string;
  fingerprint: string;
  address: string;
}

describe.skipIf(skip)('pairing two hosts found by mDNS', () => {
  const bed = useTestbed(2);
  let dir: string | undefined;
  const daemons: NetnsDaemon[] = [];
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    if (dir !== undefined) removeDir(dir);
  });

  it('lists the other host by name, pairs with `pair NAME`, then connects and syncs', async () => {
    dir = makeTempDir('cs-pairnet-');
    const alpha = await initMeshHome(dir, 'alpha');
    const bravo = await initMeshHome(dir, 'bravo');
    const a = await NetnsDaemon.start(bed(), { host: 'h1', home: alpha.home });
    const b = await NetnsDaemon.start(bed(), { host: 'h2', home: bravo.home });
    daemons.push(a, b);

    const listed = await waitFor(
      async () => (JSON.parse((await a.cliOk(['pair', '--json'])).text) as Candidate[]).find((c) => c.fingerprint === bravo.fingerprint),
      { what: 'alpha to list bravo as a peer to pair with' },
    );
    expect(listed).toEqual({ name: 'bravo', fingerprint: bravo.fingerprint, address: `tcp://${bed().host('h2').ipv4}:25470` });
    expect((await a.cliOk(['pair'])).text).toMatch(new RegExp(`bravo\\s+tcp://10\\.77\\.0\\.2:25470\\s+${bravo.fingerprint.replace(/[+/]/g, '\\$&')}`));

    const started = await a.cliOk(['pair', 'bravo']);
    const code = /verification code: (\d{3}) (\d{3})/.exec(started.text)!.slice(1).join('');
    const request = await b.waitForLog((l) => l.component === 'pairing' && l.msg === 'pairing request', 'the request on bravo');
    expect(request).toMatchObject({ peer: alpha.fingerprint, name: 'alpha', code });
    // Untrusted until both accept: listed, never dialed.
    expect((await a.peers()).find((p) => p.fingerprint === bravo.fingerprint)?.state).toBe('untrusted');

    await b.cliOk(['pair', '--accept', 'alpha']);
    await a.cliOk(['pair', '--accept', 'bravo']);
    await Promise.all([a.waitConnectedTo([bravo.fingerprint], 'bravo'), b.waitConnectedTo([alpha.fingerprint], 'alpha')]);
    expect(JSON.parse((await a.cliOk(['trusted', '--json'])).text)).toEqual([expect.objectContaining({ name: 'bravo', fingerprint: bravo.fingerprint })]);
    expect(JSON.parse((await b.cliOk(['trusted', '--json'])).text)).toEqual([expect.objectContaining({ name: 'alpha', fingerprint: alpha.fingerprint })]);
    // Found by mDNS, so no address is written to config.json: discovery finds it again.
    expect(JSON.parse(readFileSync(join(alpha.home, 'config.json'), 'utf8'))).not.toHaveProperty('peers');
    expect((await a.cliOk(['pair', '--json'])).text.trim()).toBe('[]');

    await a.cliOk(['copy', '--wait', '--timeout', '30'], { input: 'hello over the LAN' });
    expect((await b.cliOk(['paste'])).text).toBe('hello over the LAN');
  });
});
