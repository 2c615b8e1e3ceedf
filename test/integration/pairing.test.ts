import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { TestDaemon, homePair, mergeConfig, trust, type LogLine } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * Pairing end to end on loopback, through the CLI: two daemons that do not trust each other
 * compare a code and end up trusting each other, connected and syncing; a request that is
 * rejected or left to expire trusts nothing, and no clip ever crosses a pairing connection.
 */

interface PendingJson {
  fingerprint: string;
  name: string;
  address: string;
  direction: 'outbound' | 'inbound';
  state: string;
  code: string | null;
  acceptedHere: boolean;
  acceptedByPeer: boolean;
  expiresInSec: number;
  detail: string | null;
}

function codeIn(text: string): string {
  const match = /verification code: (\d{3}) (\d{3})/.exec(text);
  if (match === null) throw new Error(`no verification code in:\n${text}`);
  return `${match[1]}${match[2]}`;
}

const pairingLog =
  (msg: string, extra: (l: LogLine) => boolean = () => true) =>
  (l: LogLine): boolean =>
    l.component === 'pairing' && l.msg === msg && extra(l);

async function trustedFingerprints(daemon: TestDaemon): Promise<{ name: string; fingerprint: string }[]> {
  const list = JSON.parse((await daemon.cliOk(['trusted', '--json'])).text) as { name: string; fingerprint: string }[];
  return list.map(({ name, fingerprint }) => ({ name, fingerprint }));
}

async function pendingOf(daemon: TestDaemon): Promise<PendingJson[]> {
  return JSON.parse((await daemon.cliOk(['pair', '--pending', '--json'])).text) as PendingJson[];
}

describe('pairing two daemons by address', () => {
  let dir: string;
  let homeA: string;
  let homeB: string;
  let fpA: string;
  let fpB: string;
  const daemons: TestDaemon[] = [];

  beforeEach(async () => {
    dir = makeTempDir();
    ({ homeA, homeB, fpA, fpB } = await homePair(dir));
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    removeDir(dir);
  });

  async function start(home: string, listen?: string[]): Promise<TestDaemon> {
    const daemon = await TestDaemon.start({ home, ...(listen === undefined ? {} : { listen }) });
    daemons.push(daemon);
    return daemon;
  }

  it('shows one code on both sides, moves nothing until both accept, then trusts, connects and syncs', async () => {
    const a = await start(homeA);
    const b = await start(homeB);
    const addressB = await b.tcpAddress();
    await a.cliOk(['copy'], { input: 'copied on alpha before pairing' });

    // Off a terminal, `pair` prints the code and how to accept, and exits 0 leaving it pending.
    const started = await a.cliOk(['pair', addressB]);
    expect(started.text).toContain(`pairing with beta (${fpB}) at ${addressB}`);
    const code = codeIn(started.text);
    expect(started.text).toContain(`clipsync pair --accept ${fpB}`);
    expect(started.text).toContain(`clipsync pair --accept ${fpA}`);

    const request = await b.waitForLog(pairingLog('pairing request'), 'the pairing request on beta');
    expect(request).toMatchObject({ peer: fpA, name: 'alpha', code });
    const [seenByB] = await pendingOf(b);
    expect(seenByB).toMatchObject({ fingerprint: fpA, name: 'alpha', direction: 'inbound', state: 'pending', code, acceptedHere: false, acceptedByPeer: false, detail: null });
    expect(seenByB!.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(seenByB!.expiresInSec).toBeGreaterThan(100);
    expect(seenByB!.expiresInSec).toBeLessThanOrEqual(120);
    expect(await pendingOf(a)).toEqual([expect.objectContaining({ fingerprint: fpB, name: 'beta', direction: 'outbound', code, address: addressB })]);
    const human = await b.cliOk(['pair', '--pending']);
    expect(human.text).toContain(`${code.slice(0, 3)} ${code.slice(3)}`);

    // Before both accept: no trust, no session, no clip.
    expect(await trustedFingerprints(a)).toEqual([]);
    expect(await trustedFingerprints(b)).toEqual([]);
    expect((await b.cli(['paste'])).code).toBe(4);

    const acceptedByA = await a.cliOk(['pair', '--accept', 'beta']);
    expect(acceptedByA.text).toContain('accepted; waiting for beta');
    expect((await pendingOf(b))[0]).toMatchObject({ acceptedHere: false, acceptedByPeer: true });
    expect(await trustedFingerprints(a)).toEqual([]); // one yes is not enough
    expect((await b.cli(['paste'])).code).toBe(4);
    expect((await a.status()).peers.connected).toBe(0);

    const acceptedByB = JSON.parse((await b.cliOk(['pair', '--accept', fpA, '--json'])).text) as PendingJson;
    expect(acceptedByB).toMatchObject({ fingerprint: fpA, state: 'paired', acceptedHere: true, acceptedByPeer: true });
    await a.waitForLog(pairingLog('paired'), 'alpha to finish pairing');

    // Each side trusts the other under the name it announced, by the `trust` path.
    expect(await trustedFingerprints(a)).toEqual([{ name: 'beta', fingerprint: fpB }]);
    expect(await trustedFingerprints(b)).toEqual([{ name: 'alpha', fingerprint: fpA }]);
    expect(await pendingOf(a)).toEqual([]);
    expect(await pendingOf(b)).toEqual([]);

    // The ordinary flow takes over: alpha dials the address it paired through, and remembers it.
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
    expect((JSON.parse(readFileSync(join(homeA, 'config.json'), 'utf8')) as { peers: string[] }).peers).toEqual([addressB]);
    await b.cliOk(['copy', '--wait', '--timeout', '30'], { input: 'copied on beta after pairing' });
    expect((await a.cliOk(['paste'])).text).toBe('copied on beta after pairing');

    // Accepting again says what happened rather than "unknown".
    const again = await b.cli(['pair', '--accept', 'alpha']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has ended: paired');
  });

  it('expires a request not accepted by both in time: 4011 on both sides, nothing trusted, no clip crossed', async () => {
    mergeConfig(homeA, { pairingTimeoutMs: 4000 });
    mergeConfig(homeB, { pairingTimeoutMs: 4000 });
    const a = await start(homeA);
    const b = await start(homeB);
    await a.cliOk(['pair', await b.tcpAddress()]);
    await b.waitForLog(pairingLog('pairing request'), 'the request on beta');
    await a.cliOk(['copy'], { input: 'copied on alpha while pairing' });
    await a.cliOk(['pair', '--accept', 'beta']); // only one side says yes

    const expiredA = await a.waitForLog(pairingLog('pairing expired'), 'expiry on alpha');
    const expiredB = await b.waitForLog(pairingLog('pairing expired'), 'expiry on beta');
    expect(expiredA['code']).toBe(4011);
    expect(expiredB['code']).toBe(4011);
    expect(await trustedFingerprints(a)).toEqual([]);
    expect(await trustedFingerprints(b)).toEqual([]);
    expect(await pendingOf(b)).toEqual([]);
    expect((await b.cli(['paste'])).code).toBe(4);
    const late = await b.cli(['pair', '--accept', 'alpha']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/has ended: expired/);
    // The pairing connection never became a session on either side.
    for (const d of [a, b]) expect(d.logs.some((l) => l.msg === 'peer connected')).toBe(false);
  });

  it('a rejection closes with 4012 and trusts nothing; a clip copied meanwhile never reaches the other side', async () => {
    const a = await start(homeA);
    const b = await start(homeB);
    await a.cliOk(['pair', await b.tcpAddress()]);
    await b.waitForLog(pairingLog('pairing request'), 'the request on beta');
    await a.cliOk(['copy'], { input: 'secret copied on alpha while pairing' });
    await a.cliOk(['pair', '--accept', fpB]);

    const rejected = await b.cliOk(['pair', '--reject', 'alpha']);
    expect(rejected.text).toContain(`rejected the pairing request of alpha (${fpA}); nothing was trusted`);
    expect((await a.waitForLog(pairingLog('pairing rejected'), 'rejection on alpha'))['code']).toBe(4012);
    expect((await b.waitForLog(pairingLog('pairing rejected'), 'rejection on beta'))['code']).toBe(4012);
    expect(await trustedFingerprints(a)).toEqual([]);
    expect(await trustedFingerprints(b)).toEqual([]);
    expect(await pendingOf(a)).toEqual([]);
    expect((await b.cli(['paste'])).code).toBe(4);
    for (const d of [a, b]) expect(d.logs.some((l) => l.msg === 'peer connected')).toBe(false);
  });

  it('two users who pair with each other at once end up with one request and one code', async () => {
    const a = await start(homeA);
    const b = await start(homeB);
    const fromA = codeIn((await a.cliOk(['pair', await b.tcpAddress()])).text);
    // beta dials back before accepting: the daemons keep one connection, chosen alike by both.
    const fromB = codeIn((await b.cliOk(['pair', await a.tcpAddress()])).text);
    await Promise.all([
      a.waitForLog(pairingLog('pairing connection replaced by another for the same key'), 'alpha to drop one connection'),
      b.waitForLog(pairingLog('pairing connection replaced by another for the same key'), 'beta to drop one connection'),
    ]);
    const [onA] = await pendingOf(a);
    const [onB] = await pendingOf(b);
    expect((await pendingOf(a)).length).toBe(1);
    expect((await pendingOf(b)).length).toBe(1);
    expect(onA!.code).toBe(fromB);
    expect(onB!.code).toBe(fromB);
    expect(onA!.direction).not.toBe(onB!.direction);
    // Which connection survived decides whether beta's code is the one alpha printed.
    if (onB!.direction === 'inbound') expect(fromB).toBe(fromA);
    await a.cliOk(['pair', '--accept', 'beta']);
    await b.cliOk(['pair', '--accept', 'alpha']);
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  });

  it('answers "already paired" to a pair with a peer both sides trust', async () => {
    await trust(homeA, homeB);
    await trust(homeB, homeA);
    const b = await start(homeB);
    const a = await start(homeA);
    const result = await a.cliOk(['pair', await b.tcpAddress()]);
    expect(result.text).toContain(`already paired with beta (${fpB})`);
    const json = JSON.parse((await a.cliOk(['pair', await b.tcpAddress(), '--json'])).text) as PendingJson;
    expect(json).toMatchObject({ state: 'already-paired', fingerprint: fpB, code: null });
    // …and the address is now dialed like a static peer.
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  });

  it('pairs over a Unix socket with the prompt on a terminal (script(1) gives the CLI a pty)', async () => {
    const socketB = join(homeB, 'peer.sock');
    const a = await start(homeA);
    const b = await start(homeB, [`unix:${socketB}`]);
    const command = `${process.execPath} ${CLI_ENTRY} pair unix:${socketB} --home ${homeA}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write('y\n'); // typed ahead: the terminal holds it until the prompt reads it

    const request = await b.waitForLog(pairingLog('pairing request'), 'the request on beta');
    await b.cliOk(['pair', '--accept', 'alpha']);
    expect(await exited).toBe(0);
    expect(output).toContain('Do the codes match? [y/N]');
    expect(codeIn(output)).toBe(request['code']);
    expect(output).toContain(`paired with beta (${fpB})`);
    expect(await trustedFingerprints(a)).toEqual([{ name: 'beta', fingerprint: fpB }]);
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  });

  it('a "no" at the prompt rejects the request (4012) and exits 1', async () => {
    const a = await start(homeA);
    const b = await start(homeB);
    const command = `${process.execPath} ${CLI_ENTRY} pair ${await b.tcpAddress()} --home ${homeA}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write('n\n');
    expect(await exited).toBe(1);
    expect(output).toContain('not paired: the codes were not confirmed');
    expect((await b.waitForLog(pairingLog('pairing rejected'), 'rejection on beta'))['code']).toBe(4012);
    expect(await trustedFingerprints(b)).toEqual([]);
  });

  it('keeps the CLI contract: listing, unknown names, usage errors and a stopped daemon', async () => {
    const a = await start(homeA);
    expect((await a.cliOk(['pair'])).text).toContain('no unpaired peers found on the network');
    expect(JSON.parse((await a.cliOk(['pair', '--json'])).text)).toEqual([]);
    expect(JSON.parse((await a.cliOk(['pair', '--pending', '--json'])).text)).toEqual([]);

    const unknown = await a.cli(['pair', 'nosuch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no peer that can be paired is called "nosuch"');
    expect(unknown.stderr).toContain('hint: run `clipsync pair` to list');
    const unknownAccept = await a.cli(['pair', '--accept', 'nosuch']);
    expect(unknownAccept.code).toBe(1);
    expect(unknownAccept.stderr).toContain('clipsync pair --pending');
    expect((await a.cli(['pair', '--reject', 'nosuch'])).code).toBe(1);

    expect((await a.cli(['pair', 'beta', '--pending'])).code).toBe(2);
    expect((await a.cli(['pair', '--accept', 'x', '--reject', 'y'])).code).toBe(2);
    expect((await a.cli(['pair', 'beta', '--wait'])).code).toBe(2);

    const nobody = await a.cli(['pair', 'tcp://127.0.0.1:1']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('cannot pair with tcp://127.0.0.1:1');
    const itself = await a.cli(['pair', await a.tcpAddress()]);
    expect(itself.code).toBe(1);
    expect(itself.stderr).toContain('that is this daemon itself');
    const badAddress = await a.cli(['pair', 'tcp://nowhere']);
    expect(badAddress.code).toBe(1);
    expect(badAddress.stderr).toContain('is not a valid address');

    expect((await runCli(['pair', '--home', join(dir, 'no-daemon')])).code).toBe(3);
  });
});
