import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityFile, type Identity } from '../../src/identity/identity.js';
import { FrameType } from '../../src/wire/frame.js';
import { runCliOk } from '../helpers/cli.js';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { sshKeygen } from '../helpers/keys.js';
import { PairingClient } from '../helpers/pairing-client.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/**
 * Hostile pairing connections against a real daemon: a pairing connection carries pairing
 * frames only (a clip frame closes it with 4005 and is never applied), pairing frames have no
 * place on an ordinary session, and a stranger cannot hold more than 8 pairing requests open
 * (the 9th gets 1013 before the daemon signs anything).
 */
describe('pairing connections under attack', () => {
  let dir: string;
  let daemon: TestDaemon;
  let address: string;
  const strangers: Identity[] = [];
  const clients: PairingClient[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    const home = join(dir, 'd');
    await initHome(home, 'target');
    for (let i = 0; i < 11; i++) strangers.push(await loadIdentityFile(sshKeygen(dir, `stranger${i}`, 'ed25519')));
    // The last stranger is trusted: it speaks the ordinary protocol.
    await runCliOk(['trust', readFileSync(`${join(dir, 'stranger10')}.pub`, 'utf8'), '--home', home]);
    daemon = await TestDaemon.start({ home });
    address = await daemon.tcpAddress();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  async function dial(identity: Identity, options: { pairing?: boolean } = {}): Promise<PairingClient> {
    const client = await PairingClient.connect(address, identity, 'stranger', options);
    clients.push(client);
    return client;
  }

  it('closes a pairing connection that sends a clip frame with 4005, applying nothing', async () => {
    const client = await dial(strangers[0]!);
    await client.frame(FrameType.pairCommit);
    client.send(FrameType.offer, { id: 'a'.repeat(64), formats: [{ mime: 'text/plain', size: 5 }], size: 5, ts: Date.now(), origin: strangers[0]!.publicKey.fingerprint });
    const closed = await client.closed();
    expect(closed.code).toBe(4005);
    expect(closed.reason).toContain('only pairing frames');
    const failed = await daemon.waitForLog((l) => l.component === 'pairing' && l.msg === 'pairing failed', 'the failure in the log');
    expect(failed['peer']).toBe(strangers[0]!.publicKey.fingerprint);
    expect((await daemon.cli(['paste'])).code).toBe(4);
    expect(daemon.logs.some((l) => l.msg === 'peer connected')).toBe(false);
  });

  it('closes an ordinary session that sends a pairing frame with 4005', async () => {
    const client = await dial(strangers[10]!, { pairing: false });
    await client.established();
    client.send(FrameType.pairAccept, {});
    expect((await client.closed()).code).toBe(4005);
  });

  it('holds at most 8 inbound requests; the 9th key gets 1013 unsigned; a freed slot is taken again', async () => {
    const held: PairingClient[] = [];
    for (let i = 1; i <= 8; i++) {
      const client = await dial(strangers[i]!);
      await client.frame(FrameType.pairCommit);
      held.push(client);
    }
    const pending = JSON.parse((await daemon.cliOk(['pair', '--pending', '--json'])).text) as { fingerprint: string; direction: string }[];
    expect(pending).toHaveLength(8);
    expect(pending.every((p) => p.direction === 'inbound')).toBe(true);

    const ninth = await dial(strangers[9]!);
    const refused = await ninth.closed();
    expect(refused.code).toBe(1013);
    expect(refused.reason).toContain('too many pairing requests');
    expect(ninth.peer).toBeUndefined(); // the daemon never sent its AUTH: nothing was signed

    // A key that already has a request may replace it without a new slot.
    const again = await dial(strangers[1]!);
    await again.frame(FrameType.pairCommit);
    expect((await held[0]!.closed()).reason).toBe('replaced by a newer pairing request');

    // One request ends; its slot is free for the next stranger.
    held[1]!.close();
    await daemon.waitForLog((l) => l.component === 'pairing' && l.msg === 'pairing failed' && l['peer'] === strangers[2]!.publicKey.fingerprint, 'the dropped request to end');
    const tenth = await dial(strangers[9]!);
    await tenth.frame(FrameType.pairCommit);
  });
});

describe('the pairing request budget', () => {
  let dir: string;
  let daemon: TestDaemon;
  const clients: PairingClient[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    const home = join(dir, 'd');
    await initHome(home, 'target');
    daemon = await TestDaemon.start({ home });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  it('refuses (1013) a stranger who keeps opening and dropping requests to fish for a matching code', async () => {
    const mallory = await loadIdentityFile(sshKeygen(dir, 'mallory', 'ed25519'));
    const address = await daemon.tcpAddress();
    let admitted = 0;
    for (;;) {
      const client = await PairingClient.connect(address, mallory, 'alpha');
      clients.push(client);
      const outcome = await client.until(() => client.closeSeen ?? client.frames.find((f) => f.type === FrameType.pairCommit), 'a commit or a close');
      if ('code' in outcome) {
        expect(outcome.code).toBe(1013);
        expect(outcome.reason).toMatch(/^too many pairing requests lately; try again in \d+ s$/);
        expect(client.peer).toBeUndefined();
        break;
      }
      admitted++;
      client.close();
      expect(admitted).toBeLessThanOrEqual(17);
    }
    // The burst allowance (16), plus at most one refilled while the loop ran.
    expect(admitted).toBeGreaterThanOrEqual(16);
  });
});
