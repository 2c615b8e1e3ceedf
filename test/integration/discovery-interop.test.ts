import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SYSTEM_PYTHON,
  ZEROCONF_PEER,
  about,
  makeKey,
  peerOf,
  startAgent,
  stopAgent,
  zeroconfUnavailable,
  type TestKey,
} from '../helpers/discovery-agent.js';
import { JsonLineProcess } from '../helpers/json-lines.js';
import { endProcess, skipUnlessNetns, useTestbed } from '../helpers/netns.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * Interoperability with an independent mDNS implementation, Debian's python3-zeroconf, both
 * ways: it must see our service with its TXT fields, and we must see a `_clipsync._tcp`
 * service it publishes. Both run in testbed hosts so the multicast stays in the sandbox.
 */
const skip = skipUnlessNetns({ 'python3-zeroconf': zeroconfUnavailable() });

describe.skipIf(skip)('interoperability with python-zeroconf', () => {
  const bed = useTestbed(2);
  const processes: JsonLineProcess[] = [];
  let dir: string;
  let ours: TestKey;
  let theirs: TestKey;
  let forged: TestKey;

  beforeAll(() => {
    dir = makeTempDir('cs-interop-');
    ours = makeKey(dir, 'ours');
    theirs = makeKey(dir, 'theirs', 'ecdsa');
    forged = makeKey(dir, 'forged');
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => (p.label.startsWith('agent') ? stopAgent(p) : endProcess(p.child))));
    if (dir !== undefined) removeDir(dir);
  });

  function python(host: string, args: string[]): JsonLineProcess {
    const proc = new JsonLineProcess(`python-zeroconf ${args[0]} in ${host}`, bed().spawn(host, [SYSTEM_PYTHON, ZEROCONF_PEER, ...args]));
    processes.push(proc);
    return proc;
  }

  it('python-zeroconf sees our service and its TXT fields', async () => {
    processes.push(await startAgent(bed(), 'h1', { name: 'clipsync-box', publicKey: ours.line, port: 25470 }));
    const browser = python('h2', ['browse']);
    const found = await browser.waitForEvent((e) => (e['event'] === 'add' || e['event'] === 'update') && String(e['name']).startsWith('clipsync-box-'), 'zeroconf to resolve our service');
    expect(found).toMatchObject({ port: 25470, server: expect.stringMatching(/^clipsync-[0-9a-f]{12}\.local\.$/) as unknown });
    expect(found['addresses']).toEqual(expect.arrayContaining(['10.77.0.1', 'fd77::1']));
    expect(found['properties']).toEqual({ v: '1', fp: ours.fingerprint, name: 'clipsync-box', pk: ours.blob });
  });

  it('we see a _clipsync._tcp service python-zeroconf publishes, and its goodbye', async () => {
    const agent = processes.find((p) => p.label.startsWith('agent'))!;
    const since = agent.mark();
    const properties = { v: '1', fp: theirs.fingerprint, name: 'zeroconf-peer', pk: theirs.blob };
    const publisher = python('h2', ['publish', 'zeroconf-peer', 'pyhost', '4242', JSON.stringify(properties), '10.77.0.2', 'fd77::2']);
    await publisher.waitForEvent((e) => e['event'] === 'registered', 'zeroconf to register');

    const up = peerOf(await agent.waitForEvent(about('up', theirs.fingerprint), 'our agent to see the zeroconf service', { since }));
    expect(up).toMatchObject({
      name: 'zeroconf-peer',
      port: 4242,
      addresses: ['10.77.0.2', 'fd77::2'],
      instance: 'zeroconf-peer._clipsync._tcp.local',
      host: 'pyhost.local',
      publicKey: theirs.line.split(' ').slice(0, 2).join(' '),
    });

    publisher.child.kill('SIGTERM');
    await publisher.waitForEvent((e) => e['event'] === 'unregistered', 'zeroconf to unregister (send its goodbyes)');
    const down = await agent.waitForEvent(about('down', theirs.fingerprint), 'the zeroconf service to leave', { since });
    expect(down['reason']).toBe('goodbye');
  });

  it('a record whose public key does not match its fingerprint is not listed', async () => {
    const agent = processes.find((p) => p.label.startsWith('agent'))!;
    const properties = { v: '1', fp: theirs.fingerprint, name: 'impostor', pk: forged.blob };
    python('h2', ['publish', 'impostor', 'impostor-host', '4243', JSON.stringify(properties), '10.77.0.2']);
    const refused = await agent.waitForLog(
      (l) => l['msg'] === 'ignoring an invalid clipsync TXT record' && String(l['instance']).startsWith('impostor.'),
      'the impostor record to be refused',
    );
    expect(refused['reason']).toBe('the public key (pk) does not match the fingerprint (fp)');
    expect(agent.events.some((e) => e['event'] === 'up' && peerOf(e).name === 'impostor')).toBe(false);
  });
});
