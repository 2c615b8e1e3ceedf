import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../helpers/daemon.js';
import { skipUnlessNetns, useTestbed } from '../helpers/netns.js';
import { MESH_PORT, NetnsDaemon, initMeshHome, trustAll, type MeshHome, type MeshPeerJson } from '../helpers/netns-daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Real daemons on a simulated LAN (scripts/testbed.sh: one network namespace per host, all on
 * one bridge), finding each other by mDNS alone: no --peer unless a test says so. One testbed
 * of five hosts is shared, and the tests build on each other in order:
 *
 *   h1 alpha, h2 bravo, h3 charlie  trust each other (a full mesh)
 *   h4 delta                        trusts nobody, is trusted by nobody
 *   h5 echo                         has no multicast route; trusts alpha and is trusted by it
 *
 * Every wait is for an event (a log line, an answer of the CLI), never for time to pass.
 */
const skip = skipUnlessNetns();

let dir: string | undefined;
afterAll(() => {
  if (dir !== undefined) removeDir(dir);
});

const connected = (l: LogLine): boolean => l.msg === 'peer connected';
const TIE_BREAK = 'duplicate connection; keeping one';

/**
 * Session changes from line `since` on that are not the tie-break: every `peer disconnected`,
 * and every `peer connected` other than a newer duplicate replacing the live connection (which
 * the daemon logs right after TIE_BREAK for that peer). Either means a connection flapped.
 */
function flaps(logs: LogLine[], since: number): LogLine[] {
  const last = new Map<unknown, string>();
  const out: LogLine[] = [];
  logs.forEach((l, i) => {
    if (l.msg !== 'peer connected' && l.msg !== 'peer disconnected' && l.msg !== TIE_BREAK) return;
    if (i >= since && (l.msg === 'peer disconnected' || (l.msg === 'peer connected' && last.get(l['peer']) !== TIE_BREAK))) out.push(l);
    last.set(l['peer'], l.msg);
  });
  return out;
}
/** Startup announcements on the IPv4 link (announcements are logged once per link). */
const announced = (l: LogLine): boolean => l.component === 'discovery' && l.msg === 'announced' && l['link'] === 'all';
/** The daemon's startup announcements go out at 0, 1 and 3 s (docs/DISCOVERY.md). */
const STARTUP_ANNOUNCEMENTS = 3;

describe.skipIf(skip)('a mesh of daemons found by mDNS alone', () => {
  const bed = useTestbed(5);
  const homes: Record<'alpha' | 'bravo' | 'charlie' | 'delta' | 'echo', MeshHome> = {} as never;
  const daemons = new Map<string, NetnsDaemon>();
  const hostOf = { alpha: 'h1', bravo: 'h2', charlie: 'h3', delta: 'h4', echo: 'h5' } as const;
  type Name = keyof typeof hostOf;

  beforeAll(async () => {
    dir = makeTempDir('cs-mesh-');
    const made = await Promise.all((Object.keys(hostOf) as Name[]).map((name) => initMeshHome(dir!, name)));
    for (const home of made) homes[home.name as Name] = home;
    const { alpha, bravo, charlie, echo } = homes;
    await Promise.all([
      trustAll(alpha, [bravo, charlie, echo]),
      trustAll(bravo, [alpha, charlie]),
      trustAll(charlie, [alpha, bravo]),
      trustAll(echo, [alpha]),
    ]);
  });

  afterAll(async () => {
    await Promise.all([...daemons.values()].map((d) => d.stop()));
  });

  const start = async (name: Name, options: { peers?: string[] } = {}): Promise<NetnsDaemon> => {
    const daemon = await NetnsDaemon.start(bed(), { host: hostOf[name], home: homes[name].home, ...options });
    daemons.set(name, daemon);
    return daemon;
  };
  const daemon = (name: Name): NetnsDaemon => {
    const d = daemons.get(name);
    if (d === undefined) throw new Error(`${name} is not running (an earlier test failed?)`);
    return d;
  };
  const fp = (name: Name): string => homes[name].fingerprint;

  /** Copies `text` on `from` with --wait and checks that exactly `to` acknowledged it. */
  const copyTo = async (from: Name, to: Name[], text: string): Promise<string> => {
    const result = JSON.parse((await daemon(from).cliOk(['copy', '--wait', '--timeout', '20', '--json'], { input: text })).text) as {
      id: string;
      peers: { fingerprint: string; status: string }[];
    };
    expect(result.peers.map((p) => p.fingerprint).sort()).toEqual(to.map(fp).sort());
    expect(result.peers.every((p) => p.status === 'delivered')).toBe(true);
    const pasted = await Promise.all(to.map(async (receiver) => (await daemon(receiver).cliOk(['paste'])).text));
    expect(pasted).toEqual(to.map(() => text));
    return result.id;
  };

  /** Each of `names` lists each other one exactly once, connected, discovered, and both ends agree who dialed. */
  const expectOneConnectionPerPair = async (names: Name[]): Promise<void> => {
    const lists = new Map<Name, MeshPeerJson[]>();
    await Promise.all(names.map(async (name) => lists.set(name, await daemon(name).peers())));
    checkOneConnectionPerPair(names, lists);
  };
  /** The same, once a tie-break still running when the last side logged `peer connected` is over. */
  const settledOneConnectionPerPair = (names: Name[]): Promise<unknown> =>
    waitFor(
      async () => {
        await expectOneConnectionPerPair(names);
        return true;
      },
      { what: `one connection per pair among ${names.join(', ')}` },
    );
  const checkOneConnectionPerPair = (names: Name[], lists: Map<Name, MeshPeerJson[]>): void => {
    for (const a of names) {
      for (const b of names) {
        if (a === b) continue;
        const entries = lists.get(a)!.filter((p) => p.fingerprint === fp(b));
        expect(entries, `${a} lists ${b} once: ${JSON.stringify(lists.get(a))}`).toHaveLength(1);
        expect(entries[0]).toMatchObject({ state: 'connected', name: b, discovered: true });
        const back = lists.get(b)!.find((p) => p.fingerprint === fp(a))!;
        // One TCP connection: the side that dialed it sees it outbound, the other inbound.
        expect(back.direction, `${a} sees ${b} ${entries[0]!.direction}, ${b} sees ${a} ${back.direction}`).toBe(
          entries[0]!.direction === 'outbound' ? 'inbound' : 'outbound',
        );
      }
    }
  };

  it('two hosts started together find each other, keep one connection and sync a clip', async () => {
    const [alpha, bravo] = await Promise.all([start('alpha'), start('bravo')]);
    await Promise.all([alpha.waitConnectedTo([fp('bravo')], 'bravo'), bravo.waitConnectedTo([fp('alpha')], 'alpha')]);
    // Found by mDNS, not configured: the daemon logged the discovery before dialing.
    await alpha.waitForLog((l) => l.component === 'peers' && l.msg === 'peer discovered' && l['peer'] === fp('bravo'), 'alpha to discover bravo');
    await bravo.waitForLog((l) => l.component === 'peers' && l.msg === 'peer discovered' && l['peer'] === fp('alpha'), 'bravo to discover alpha');
    await settledOneConnectionPerPair(['alpha', 'bravo']);
    // Both dialed at once (each heard the other's first announcement): after the tie-break,
    // nothing drops or redials while the startup announcements go on and a clip goes across.
    const since = { alpha: alpha.mark(), bravo: bravo.mark() };
    await Promise.all([alpha, bravo].map((d) => d.waitForLogs(announced, STARTUP_ANNOUNCEMENTS, `${d.host}'s startup announcements`)));
    await copyTo('alpha', ['bravo'], 'two hosts, no addresses typed\n');
    expect(flaps(alpha.logs, since.alpha)).toEqual([]);
    expect(flaps(bravo.logs, since.bravo)).toEqual([]);
    await expectOneConnectionPerPair(['alpha', 'bravo']);
  });

  it('a third host joins: every pair keeps exactly one connection, no flapping, each clip arrives once', async () => {
    const charlie = await start('charlie');
    // alpha and bravo hear charlie's announcement and dial it while charlie dials them from
    // the answers to its own browse query: simultaneous dials on both new pairs.
    await Promise.all([
      charlie.waitConnectedTo([fp('alpha'), fp('bravo')], 'alpha and bravo'),
      daemon('alpha').waitConnectedTo([fp('charlie')], 'charlie'),
      daemon('bravo').waitConnectedTo([fp('charlie')], 'charlie'),
    ]);
    const names: Name[] = ['alpha', 'bravo', 'charlie'];
    const since = new Map(names.map((n) => [n, daemon(n).mark()]));
    await settledOneConnectionPerPair(names);

    // The window: until every daemon has sent all its startup announcements (each one heard by
    // the others, which must not redial a connected peer), and a clip has gone out from each.
    for (const name of names) await daemon(name).waitForLogs(announced, STARTUP_ANNOUNCEMENTS, `${name}'s startup announcements`);
    const clipOf = new Map<Name, string>();
    for (const name of names) clipOf.set(name, await copyTo(name, names.filter((n) => n !== name), `from ${name}\n`));

    for (const name of names) {
      const d = daemon(name);
      const window = d.logsSince(since.get(name)!);
      // A simultaneous dial may still be resolved in the window (the newer connection replaces
      // the live one, once); nothing may drop or reconnect.
      expect(flaps(d.logs, since.get(name)!), `${name}: sessions lost or redialed after settling`).toEqual([]);
      for (const other of names.filter((n) => n !== name)) {
        expect(d.logs.filter((l) => connected(l) && l['peer'] === fp(other)).length, `${name} connected to ${other}`).toBeLessThanOrEqual(2);
      }
      // Each of those clips was applied here exactly once (logs name a clip by its id's first 16 hex digits).
      for (const origin of names) {
        const id = clipOf.get(origin)!.slice(0, 16);
        const times = window.filter((l) => l.msg === 'clip received' && l['clip'] === id).length;
        expect(times, `${name} received the clip from ${origin}`).toBe(origin === name ? 0 : 1);
      }
    }
    await expectOneConnectionPerPair(names);
  });

  it('a host that leaves is dropped at once; back with a new address it is redialed and syncs', async () => {
    const stayers: Name[] = ['alpha', 'charlie'];
    const sinceLeave = new Map(stayers.map((n) => [n, daemon(n).mark()]));
    await daemon('bravo').stop();
    for (const name of stayers) {
      const left = await daemon(name).waitForLog((l) => l.msg === 'peer left the network' && l['peer'] === fp('bravo'), `${name} to see bravo leave`, {
        since: sinceLeave.get(name)!,
      });
      expect(left).toMatchObject({ component: 'peers', reason: 'goodbye' });
    }
    await Promise.all(
      stayers.map(async (name) => {
        const entry = (await daemon(name).peers()).find((p) => p.fingerprint === fp('bravo'));
        expect(entry?.state, `${name}'s entry for bravo`).not.toBe('connected');
      }),
    );

    // Move h2: the new address first, since deleting the last IPv4 address takes the routes
    // (the multicast route too) with it.
    await bed().execOk('h2', ['ip', 'addr', 'add', '10.77.0.42/24', 'dev', 'eth0']);
    await bed().execOk('h2', ['ip', 'addr', 'del', '10.77.0.2/24', 'dev', 'eth0']);

    const sinceBack = new Map(stayers.map((n) => [n, daemon(n).mark()]));
    const bravo = await start('bravo');
    await bravo.waitConnectedTo([fp('alpha'), fp('charlie')], 'alpha and charlie');
    await Promise.all(
      stayers.map(async (name) => {
        const found = await daemon(name).waitForLog((l) => l.component === 'peers' && l.msg === 'peer discovered' && l['peer'] === fp('bravo'), `${name} to discover bravo again`, {
          since: sinceBack.get(name)!,
        });
        expect(found['address']).toBe(`tcp://10.77.0.42:${MESH_PORT}`);
        await daemon(name).waitConnectedTo([fp('bravo')], 'bravo', sinceBack.get(name)!);
        const entries = (await daemon(name).peers()).filter((p) => p.fingerprint === fp('bravo'));
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({ state: 'connected', address: `tcp://10.77.0.42:${MESH_PORT}` });
      }),
    );
    await settledOneConnectionPerPair(['alpha', 'bravo', 'charlie']);
    await copyTo('bravo', ['alpha', 'charlie'], 'bravo moved to .42\n');
    await copyTo('charlie', ['alpha', 'bravo'], 'and back to bravo\n');
  });

  it('an untrusted host is listed as untrusted by every daemon but never dialed', async () => {
    const mesh: Name[] = ['alpha', 'bravo', 'charlie'];
    const since = new Map(mesh.map((n) => [n, daemon(n).mark()]));
    const delta = await start('delta');
    const deltaAddress = `tcp://${bed().host('h4').ipv4}:${MESH_PORT}`;
    for (const name of mesh) {
      const seen = await daemon(name).waitForLog(
        (l) => l.msg === 'untrusted peer discovered; not dialing' && l['peer'] === fp('delta'),
        `${name} to see untrusted delta`,
        { since: since.get(name)! },
      );
      expect(seen['address']).toBe(deltaAddress);
    }
    // delta trusts nobody: it lists the three as untrusted in turn, and dials none of them.
    for (const name of mesh) {
      await delta.waitForLog((l) => l.msg === 'untrusted peer discovered; not dialing' && l['peer'] === fp(name), `delta to see ${name}`);
    }

    // The window: every announcement delta makes at startup has been heard, and a clip has
    // gone around the mesh without it.
    await delta.waitForLogs(announced, STARTUP_ANNOUNCEMENTS, "delta's startup announcements");
    await copyTo('alpha', ['bravo', 'charlie'], 'not for delta\n');

    const lists = new Map(await Promise.all(mesh.map(async (name) => [name, await daemon(name).peers()] as const)));
    for (const name of mesh) {
      const entries = lists.get(name)!.filter((p) => p.fingerprint === fp('delta'));
      expect(entries, `${name}'s entries for delta`).toHaveLength(1);
      expect(entries[0]).toMatchObject({ state: 'untrusted', name: 'delta', address: deltaAddress, discovered: true, direction: null });
      // No dial, no refusal, no session with delta in the log.
      const aboutDelta = daemon(name).logsSince(since.get(name)!, (l) => l['peer'] === fp('delta') || String(l['address'] ?? '').includes(bed().host('h4').ipv4));
      expect(aboutDelta.map((l) => l.msg).filter((m) => m !== 'untrusted peer discovered; not dialing' && m !== 'peer discovered')).toEqual([]);
    }
    const deltaPeers = await delta.peers();
    expect(deltaPeers.map((p) => [p.name, p.state]).sort()).toEqual(mesh.map((n) => [n, 'untrusted']));
    expect(delta.logs.filter((l) => connected(l) || l.msg === 'handshake failed' || l.msg === 'peer connection refused' || l.msg === 'dial failed')).toEqual([]);
    // The kernel agrees: no TCP connection (not even one in TIME-WAIT) to or from delta's port.
    const sockets = (await bed().execOk('h4', ['ss', '-Htan', 'state', 'all', `( sport = :${MESH_PORT} or dport = :${MESH_PORT} )`]))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('LISTEN'));
    expect(sockets, 'TCP sockets on delta').toEqual([]);
  });

  it('a --peer address that mDNS also finds is one peer: one connection, and no duplicate closes (4007) once settled', async () => {
    const alphaAddress = `tcp://${bed().host('h1').ipv4}:${MESH_PORT}`;
    await daemon('charlie').stop();
    const charlie = await start('charlie', { peers: [alphaAddress] });
    await charlie.waitConnectedTo([fp('alpha'), fp('bravo')], 'alpha and bravo');
    // Both targets for alpha exist now: the --peer address and the mDNS sighting at the same address.
    await charlie.waitForLog((l) => l.msg === 'peer discovered' && l['peer'] === fp('alpha'), 'alpha discovered by charlie');
    await settledOneConnectionPerPair(['alpha', 'bravo', 'charlie']);
    const marks = new Map((['alpha', 'bravo', 'charlie'] as Name[]).map((n) => [n, daemon(n).mark()]));
    await copyTo('charlie', ['alpha', 'bravo'], 'static and discovered\n');
    await copyTo('alpha', ['bravo', 'charlie'], 'and back\n');
    await settledOneConnectionPerPair(['alpha', 'bravo', 'charlie']);
    for (const [name, since] of marks) {
      const duplicates = daemon(name).logs.slice(since).filter((l) => l['code'] === 4007 || l.msg === TIE_BREAK);
      expect(duplicates, `${name} closed a duplicate after settling`).toEqual([]);
    }
    const rows = (await charlie.peers()).filter((p) => p.fingerprint === fp('alpha'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'connected', address: alphaAddress });
  });

  it('a host with no multicast route warns that discovery is off and still syncs with a static --peer', async () => {
    // Both families: with IPv6 multicast left, discovery would (rightly) stay on over IPv6.
    await bed().execOk('h5', ['ip', 'route', 'del', '224.0.0.0/4', 'dev', 'eth0']);
    await bed().execOk('h5', ['ip', '-6', 'route', 'del', 'multicast', 'ff00::/8', 'dev', 'eth0', 'table', 'local']);
    const alpha = daemon('alpha');
    const since = alpha.mark();
    const echo = await start('echo', { peers: [`tcp://${bed().host('h1').ipv4}:${MESH_PORT}`] });
    const warning = await echo.waitForLog((l) => l.level === 40 && String(l.msg ?? '').startsWith('mDNS discovery is off'), 'the discovery warning');
    expect(warning).toMatchObject({ component: 'discovery', codes: ['ENETUNREACH'] });
    expect(String(warning['reason'])).toContain('no multicast route');
    expect(((await echo.status()) as unknown as { mdns: string }).mdns).toBe('disabled');

    await echo.waitConnectedTo([fp('alpha')], 'alpha');
    await alpha.waitConnectedTo([fp('echo')], 'echo', since);
    const seenByAlpha = (await alpha.peers()).filter((p) => p.fingerprint === fp('echo'));
    expect(seenByAlpha).toHaveLength(1);
    expect(seenByAlpha[0]).toMatchObject({ state: 'connected', direction: 'inbound', discovered: false });
    await copyTo('echo', ['alpha'], 'no multicast, static peer\n');
    // Warned once, and it keeps running.
    expect(echo.logs.filter((l) => String(l.msg ?? '').startsWith('mDNS discovery is off'))).toHaveLength(1);
    expect(echo.alive).toBe(true);
  });
});
