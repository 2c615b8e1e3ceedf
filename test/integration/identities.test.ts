import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, runCli, runCliOk } from '../helpers/cli.js';
import { TestDaemon, initHome, trust } from '../helpers/daemon.js';
import { sshFingerprint, sshKeygen } from '../helpers/keys.js';
import { TestSshAgent } from '../helpers/ssh-agent.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const skip = skipUnlessTools({ 'ssh-keygen': 'openssh-client', 'ssh-agent': 'openssh-client', 'ssh-add': 'openssh-client' });

/** No agent from the environment the tests run in may leak into a daemon or CLI. */
const NO_AGENT: NodeJS.ProcessEnv = { SSH_AUTH_SOCK: undefined };

const PASSPHRASE = "correct horse 'battery' staple";

/** Copies on one daemon and checks `paste` on the other gives back exactly the same bytes. */
async function expectSync(from: TestDaemon, to: TestDaemon, content: Buffer, mime?: string): Promise<void> {
  const args = ['copy', '--wait', '--timeout', '30', '--json', ...(mime ? ['--mime', mime] : [])];
  const copied = JSON.parse((await from.cliOk(args, { input: content })).text) as { size: number; peers: { status: string }[] };
  expect(copied.size).toBe(content.length);
  expect(copied.peers.map((p) => p.status)).toEqual(['delivered']);
  const pasted = await to.cliOk(['paste']);
  expect(pasted.stdout.equals(content)).toBe(true);
}

/** A unique text clip with non-ASCII content, so an encoding slip would show. */
function textClip(label: string): Buffer {
  return Buffer.from(`${label} ${randomBytes(6).toString('hex')} — héllo 你好 👋🏽\r\n\ttab\n`, 'utf8');
}

/** `type blob` of a .pub file (the comment is not part of the key). */
function keyOf(pubLine: string): string {
  return pubLine.trim().split(/\s+/).slice(0, 2).join(' ');
}

async function idJson(home: string, env: NodeJS.ProcessEnv = NO_AGENT): Promise<{ name: string; publicKey: string; fingerprint: string }> {
  return JSON.parse((await runCliOk(['id', '--json', '--home', home], { env })).text) as { name: string; publicKey: string; fingerprint: string };
}

/**
 * Runs `clipsync daemon` that is expected to fail at start-up; resolves with its exit code
 * and stderr. Should it start after all, it is killed (and the test fails on the code).
 */
function runFailingDaemon(home: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const args = [CLI_ENTRY, 'daemon', '--home', home, '--listen', `unix:${join(home, 'peer.sock')}`, '--clipboard', 'memory', '--no-mdns'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (stderr.includes('"daemon ready"')) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

interface KeySpec {
  label: string;
  type: string;
  bits?: number;
}

const KEY_TYPES: KeySpec[] = [
  { label: 'ed25519', type: 'ed25519' },
  { label: 'ecdsa-256', type: 'ecdsa', bits: 256 },
  { label: 'ecdsa-384', type: 'ecdsa', bits: 384 },
  { label: 'ecdsa-521', type: 'ecdsa', bits: 521 },
  { label: 'rsa-2048', type: 'rsa', bits: 2048 },
  { label: 'rsa-3072', type: 'rsa', bits: 3072 },
];

/** [listener, dialer]: every key type takes part in exactly one cross-type pair. */
const PAIRS: [string, string][] = [
  ['ecdsa-256', 'rsa-3072'],
  ['ed25519', 'ecdsa-521'],
  ['rsa-2048', 'ecdsa-384'],
];

describe.skipIf(skip)('identities from ssh-keygen of every supported type', () => {
  let dir: string;
  const keys = new Map<string, string>();
  const homes = new Map<string, string>();
  const daemons = new Map<string, TestDaemon>();

  beforeAll(async () => {
    dir = makeTempDir();
    for (const spec of KEY_TYPES) {
      keys.set(spec.label, sshKeygen(dir, `id_${spec.label}`, spec.type, { bits: spec.bits, comment: `${spec.label}@keygen` }));
      homes.set(spec.label, join(dir, spec.label));
    }
    await Promise.all(KEY_TYPES.map(({ label }) => runCliOk(['init', '--home', homes.get(label)!, '--name', label, '--identity', keys.get(label)!], { env: NO_AGENT })));
    await Promise.all(
      PAIRS.map(async ([listener, dialer]) => {
        await trust(homes.get(listener)!, homes.get(dialer)!);
        await trust(homes.get(dialer)!, homes.get(listener)!);
        const a = await TestDaemon.start({ home: homes.get(listener)!, env: NO_AGENT });
        daemons.set(listener, a);
        const b = await TestDaemon.start({ home: homes.get(dialer)!, listen: [], peers: [await a.tcpAddress()], env: NO_AGENT });
        daemons.set(dialer, b);
        await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([...daemons.values()].map((d) => d.stop()));
    if (dir !== undefined) removeDir(dir);
  });

  it('`id --json` and the daemon report the key and the fingerprint `ssh-keygen -lf` prints', async () => {
    await Promise.all(
      KEY_TYPES.map(async ({ label }) => {
        const pub = `${keys.get(label)!}.pub`;
        const expected = sshFingerprint(pub);
        const [id, status] = await Promise.all([idJson(homes.get(label)!), daemons.get(label)!.status()]);
        expect(id.fingerprint, label).toBe(expected);
        expect(keyOf(id.publicKey), label).toBe(keyOf(readFileSync(pub, 'utf8')));
        expect(id.publicKey.endsWith(` ${label}`), label).toBe(true);
        expect(status.fingerprint, label).toBe(expected);
        // The key is used where it is: nothing is copied into the home.
        expect(existsSync(join(homes.get(label)!, 'id_ed25519')), label).toBe(false);
      }),
    );
  });

  for (const [listener, dialer] of PAIRS) {
    it(`${listener} ↔ ${dialer}: each sees the other's key, and clips go both ways byte-exact`, async () => {
      const a = daemons.get(listener)!;
      const b = daemons.get(dialer)!;
      expect((await a.peers()).find((p) => p.state === 'connected')).toMatchObject({ fingerprint: sshFingerprint(`${keys.get(dialer)!}.pub`), name: dialer });
      expect((await b.peers()).find((p) => p.state === 'connected')).toMatchObject({ fingerprint: sshFingerprint(`${keys.get(listener)!}.pub`), name: listener });
      await expectSync(a, b, textClip(`${listener} to ${dialer}`));
      await expectSync(b, a, textClip(`${dialer} to ${listener}`));
      await expectSync(b, a, randomBytes(64 * 1024 + 3), 'application/octet-stream');
    });
  }
});

describe.skipIf(skip)('identities held in ssh-agent', () => {
  let dir: string;
  let agent: TestSshAgent | undefined;
  let emptyAgent: TestSshAgent | undefined;
  let edKey: string;
  let rsaKey: string;
  let ecdsaKey: string;
  const daemons: TestDaemon[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    edKey = sshKeygen(dir, 'locked_ed25519', 'ed25519', { passphrase: PASSPHRASE });
    rsaKey = sshKeygen(dir, 'locked_rsa', 'rsa', { bits: 3072, passphrase: PASSPHRASE });
    ecdsaKey = sshKeygen(dir, 'locked_ecdsa', 'ecdsa', { bits: 384, passphrase: PASSPHRASE });
    agent = await TestSshAgent.start(dir);
    // ed25519 last: `init --agent` must prefer it by type, not take the agent's first key.
    for (const key of [rsaKey, ecdsaKey, edKey]) await agent.add(key, PASSPHRASE);
  });

  afterAll(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    await Promise.all([agent?.stop(), emptyAgent?.stop()]);
    if (dir !== undefined) removeDir(dir);
  });

  it('init --agent --identity KEY.pub (or the private key path) records the agent key; config.json has agent true', async () => {
    for (const [label, keyArg, key] of [
      ['rsa', `${rsaKey}.pub`, rsaKey],
      ['ecdsa', ecdsaKey, ecdsaKey], // the private key's path: its .pub beside it is used
    ] as const) {
      const home = join(dir, `agent-${label}`);
      const init = JSON.parse((await runCliOk(['init', '--home', home, '--name', `agent-${label}`, '--agent', '--identity', keyArg, '--json'], { env: agent!.env })).text);
      const expected = sshFingerprint(`${key}.pub`);
      expect(init).toMatchObject({ created: true, agent: true, fingerprint: expected });
      // `id` needs neither the agent nor the passphrase.
      const id = await idJson(home, NO_AGENT);
      expect(id.fingerprint).toBe(expected);
      expect(keyOf(id.publicKey)).toBe(keyOf(readFileSync(`${key}.pub`, 'utf8')));
      const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { agent?: unknown; identity?: string };
      expect(config.agent).toBe(true);
      expect(keyOf(readFileSync(config.identity!, 'utf8'))).toBe(keyOf(readFileSync(`${key}.pub`, 'utf8')));
      // No private key is written into the home.
      expect(existsSync(join(home, 'id_ed25519'))).toBe(false);
    }
  });

  it('init --agent without --identity picks the ed25519 key from the agent and writes id_agent.pub', async () => {
    const home = join(dir, 'agent-auto');
    const init = JSON.parse((await runCliOk(['init', '--home', home, '--name', 'agent-auto', '--agent', '--json'], { env: agent!.env })).text);
    expect(init).toMatchObject({ created: true, agent: true, fingerprint: sshFingerprint(`${edKey}.pub`) });
    const written = join(home, 'id_agent.pub');
    expect(keyOf(readFileSync(written, 'utf8'))).toBe(keyOf(readFileSync(`${edKey}.pub`, 'utf8')));
    expect(sshFingerprint(written)).toBe(sshFingerprint(`${edKey}.pub`));
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { agent?: unknown; identity?: string };
    expect(config).toMatchObject({ agent: true, identity: written });
    expect((await idJson(home)).fingerprint).toBe(sshFingerprint(`${edKey}.pub`));
  });

  it('daemons signing through the agent (rsa-3072, ecdsa-384, ed25519) sync both ways with a peer using a key file', async () => {
    // The homes the tests above made; init is idempotent, so this also works when run alone.
    const setups: [string, string[]][] = [
      ['agent-rsa', ['--identity', `${rsaKey}.pub`]],
      ['agent-ecdsa', ['--identity', ecdsaKey]],
      ['agent-auto', []],
    ];
    const agentHomes = setups.map(([name]) => join(dir, name));
    await Promise.all(setups.map(([name, extra]) => runCliOk(['init', '--home', join(dir, name), '--name', name, '--agent', ...extra], { env: agent!.env })));
    const fileHome = join(dir, 'file-peer');
    await initHome(fileHome, 'file-peer');
    await Promise.all(agentHomes.map((home) => trust(home, fileHome)));
    // One at a time: `clipsync trust` rewrites the whole store, so concurrent runs on one home race.
    for (const home of agentHomes) await trust(fileHome, home);
    const filePeer = await TestDaemon.start({ home: fileHome, env: NO_AGENT });
    daemons.push(filePeer);
    const address = await filePeer.tcpAddress();
    const agentDaemons = await Promise.all(
      agentHomes.map(async (home) => {
        const d = await TestDaemon.start({ home, listen: [], peers: [address], env: agent!.env });
        daemons.push(d);
        return d;
      }),
    );
    await Promise.all([filePeer.waitConnected(3), ...agentDaemons.map((d) => d.waitConnected(1))]);
    // The file peer authenticated each of them by the agent-held key.
    const fingerprints = (await filePeer.peers()).filter((p) => p.state === 'connected').map((p) => p.fingerprint);
    expect(fingerprints.sort()).toEqual([rsaKey, ecdsaKey, edKey].map((k) => sshFingerprint(`${k}.pub`)).sort());

    const toAll = textClip('file peer to every agent daemon');
    const copied = JSON.parse((await filePeer.cliOk(['copy', '--wait', '--timeout', '30', '--json'], { input: toAll })).text) as { peers: { status: string }[] };
    expect(copied.peers.map((p) => p.status)).toEqual(['delivered', 'delivered', 'delivered']);
    for (const d of agentDaemons) expect((await d.cliOk(['paste'])).stdout.equals(toAll)).toBe(true);
    for (const d of agentDaemons) await expectSync(d, filePeer, textClip(`from ${d.home}`));
  });

  it('a daemon with an agent identity exits 1 when SSH_AUTH_SOCK is not set', async () => {
    const home = join(dir, 'agent-nosock');
    await runCliOk(['init', '--home', home, '--agent', '--identity', `${edKey}.pub`], { env: agent!.env });
    const result = await runFailingDaemon(home, NO_AGENT);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/SSH_AUTH_SOCK/);
    expect(existsSync(join(home, 'clipsync.sock'))).toBe(false);
  });

  it('a daemon exits 1 when the agent does not hold its key, and init --agent refuses such an agent', async () => {
    const home = join(dir, 'agent-empty');
    await runCliOk(['init', '--home', home, '--agent', '--identity', `${ecdsaKey}.pub`], { env: agent!.env });
    emptyAgent = await TestSshAgent.start(dir, 'empty.sock');
    const result = await runFailingDaemon(home, emptyAgent.env);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/agent does not hold/);
    expect(result.stderr).toContain(sshFingerprint(`${ecdsaKey}.pub`));

    const noKeys = await runCli(['init', '--home', join(dir, 'agent-none'), '--agent'], { env: emptyAgent.env });
    expect(noKeys.code).toBe(1);
    expect(noKeys.stderr).toMatch(/holds no key/);
    const notHeld = await runCli(['init', '--home', join(dir, 'agent-none'), '--agent', '--identity', `${edKey}.pub`], { env: emptyAgent.env });
    expect(notHeld.code).toBe(1);
    expect(notHeld.stderr).toMatch(/agent does not hold/);
    expect(existsSync(join(dir, 'agent-none', 'config.json'))).toBe(false);
  });
});

describe.skipIf(skip)('a passphrase-protected key file without an agent', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('is refused by init --identity with a hint to use ssh-add and --agent', async () => {
    for (const [type, bits] of [['ed25519', undefined], ['ecdsa', 521]] as const) {
      const locked = sshKeygen(dir, `locked_${type}`, type, { bits, passphrase: PASSPHRASE });
      const home = join(dir, `home-${type}`);
      const result = await runCli(['init', '--home', home, '--identity', locked], { env: NO_AGENT });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/passphrase/);
      expect(result.stderr).toMatch(/ssh-add/);
      expect(result.stderr).toMatch(/--agent/);
      // Nothing recorded: a later plain `init` is not pointed at the locked key.
      expect(existsSync(join(home, 'config.json'))).toBe(false);
    }
  });
});

describe.skipIf(skip)('trust files (authorized_keys read live)', () => {
  let dir: string;
  const daemons: TestDaemon[] = [];

  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    removeDir(dir);
  });

  it('trusts a key added to the file, names it by its comment, drops it when the line goes, and skips lines with options', async () => {
    const homeA = join(dir, 'a');
    const homeB = join(dir, 'b');
    const idA = await initHome(homeA, 'alpha');
    const idB = await initHome(homeB, 'beta');
    await trust(homeB, homeA); // B trusts A the usual way; A's own trust store stays empty

    const sshDir = join(dir, 'ssh');
    mkdirSync(sshDir, { mode: 0o700 });
    const authorized = join(sshDir, 'authorized_keys');
    const configFile = join(homeA, 'config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    expect(config['name']).toBe('alpha');
    writeFileSync(configFile, JSON.stringify({ ...config, trustFiles: [authorized] }));

    // Line 2 names B's key, but with options clipsync cannot honour: it must not grant trust.
    const keyB = keyOf(idB.publicKey);
    const header = '# keys that may log in here';
    const restricted = `from="10.0.0.1" ${keyB} beta-restricted`;
    writeFileSync(authorized, `${header}\n${restricted}\n`);

    const a = await TestDaemon.start({ home: homeA, env: NO_AGENT });
    daemons.push(a);
    const warning = await a.waitForLog((l) => l.level === 40 && l['file'] === authorized && l['line'] === 2, 'warning about line 2');
    expect(warning.msg).toMatch(/options/);
    expect(JSON.parse((await a.cliOk(['trusted', '--json'])).text)).toEqual([]);

    // Add B's plain line, then start B (it would wait 30 s before redialing after a refusal).
    writeFileSync(authorized, `${header}\n${restricted}\n${keyB} bee-from-authorized-keys\n`);
    const b = await TestDaemon.start({ home: homeB, listen: [], peers: [await a.tcpAddress()], env: NO_AGENT });
    daemons.push(b);
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
    const seenByA = (await a.peers()).find((p) => p.state === 'connected');
    expect(seenByA).toMatchObject({ fingerprint: idB.fingerprint, name: 'bee-from-authorized-keys' });
    expect((await b.peers()).find((p) => p.state === 'connected')).toMatchObject({ fingerprint: idA.fingerprint, name: 'alpha' });
    await expectSync(a, b, textClip('alpha to beta'));
    await expectSync(b, a, textClip('beta to alpha'));

    // Remove B's line (the restricted one stays): A notices by itself and drops B.
    const removedAt = Date.now();
    writeFileSync(authorized, `${header}\n${restricted}\n`);
    await waitFor(async () => (await a.status()).peers.connected === 0, { what: 'alpha to drop beta after its line was removed', timeoutMs: 15_000 });
    const dropSeconds = (Date.now() - removedAt) / 1000;
    expect(dropSeconds).toBeLessThan(15);
    const drop = await a.waitForLog((l) => l.msg === 'key no longer trusted; disconnecting', 'disconnect log on alpha');
    expect(drop['peer']).toBe(idB.fingerprint);
    // B redials and is refused: the restricted line still does not let it in.
    const refusedOnB = await waitFor(async () => (await b.peers()).find((p) => p.state === 'refused'), { what: 'beta to be refused by alpha' });
    expect(refusedOnB.lastError).toMatch(/refused this machine's key/);
    expect((await a.status()).peers.connected).toBe(0);
  });
});
