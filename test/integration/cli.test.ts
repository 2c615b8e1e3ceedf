import { chmodSync, readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliOk } from '../helpers/cli.js';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { sshFingerprint, sshKeygen } from '../helpers/keys.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

describe('the CLI contract', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('exits 3 with a hint when no daemon runs', async () => {
    const home = join(dir, 'nodaemon');
    for (const command of [['status'], ['peers', '--json'], ['paste'], ['stop']]) {
      const result = await runCli([...command, '--home', home]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/not running/);
      expect(result.stderr).toMatch(/clipsync daemon/);
    }
    const copy = await runCli(['copy', '--home', home], { input: 'x' });
    expect(copy.code).toBe(3);
  });

  it('exits 2 on usage errors', async () => {
    expect((await runCli(['no-such-command'])).code).toBe(2);
    expect((await runCli([])).code).toBe(2);
    expect((await runCli(['daemon', '--clipboard', 'bogus', '--home', join(dir, 'u')])).code).toBe(2);
    expect((await runCli(['trust', '--home', join(dir, 'u')])).code).toBe(2);
  });

  it('init creates an ed25519 identity once and never replaces it', async () => {
    const home = join(dir, 'idem');
    const first = JSON.parse((await runCliOk(['init', '--home', home, '--name', 'idem', '--json'])).text);
    expect(first.created).toBe(true);
    const keyFile = join(home, 'id_ed25519');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const before = readFileSync(keyFile);
    const second = JSON.parse((await runCliOk(['init', '--home', home, '--json'])).text);
    expect(second.created).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(readFileSync(keyFile).equals(before)).toBe(true);
    // Asking for a different existing key is refused rather than replacing the identity.
    const other = sshKeygen(dir, 'other_ed25519', 'ed25519');
    const refused = await runCli(['init', '--home', home, '--identity', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists/);
    expect(readFileSync(keyFile).equals(before)).toBe(true);
  });

  it('id prints an authorized_keys line and the fingerprint ssh-keygen -lf prints', async () => {
    const home = join(dir, 'id');
    await initHome(home, 'laptop');
    const lines = (await runCliOk(['id', '--home', home])).text.trim().split('\n');
    expect(lines[0]).toMatch(/^ssh-ed25519 AAAA[\w+/=]+ laptop$/);
    const pub = join(dir, 'id-out.pub');
    writeFileSync(pub, `${lines[0]}\n`);
    expect(lines[1]).toBe(sshFingerprint(pub));
    const json = JSON.parse((await runCliOk(['id', '--json', '--home', home])).text);
    expect(json).toEqual({ name: 'laptop', publicKey: lines[0], fingerprint: lines[1] });
  });

  it('init --identity uses an existing OpenSSH key and refuses a passphrase-protected one', async () => {
    const key = sshKeygen(dir, 'existing_ecdsa', 'ecdsa', { bits: 384 });
    const home = join(dir, 'existing');
    await runCliOk(['init', '--home', home, '--identity', key]);
    const id = JSON.parse((await runCliOk(['id', '--json', '--home', home])).text);
    expect(id.fingerprint).toBe(sshFingerprint(`${key}.pub`));
    expect(existsSync(join(home, 'id_ed25519'))).toBe(false);

    const locked = sshKeygen(dir, 'locked', 'ed25519', { passphrase: 'correct horse' });
    const result = await runCli(['init', '--home', join(dir, 'locked-home'), '--identity', locked]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/passphrase/);
    expect(result.stderr).toMatch(/ssh-agent|ssh-add/);
  });

  it('refuses a control socket directory that other users can write to', async () => {
    const home = join(dir, 'shared');
    await initHome(home, 'shared');
    chmodSync(home, 0o777);
    const daemon = await runCli(['daemon', '--home', home, '--listen', 'tcp://127.0.0.1:0', '--clipboard', 'memory', '--no-mdns']);
    expect(daemon.code).toBe(1);
    expect(daemon.stderr).toMatch(/other users can write to it/);
    const status = await runCli(['status', '--home', home]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/refusing to use the control socket directory/);
    chmodSync(home, 0o700);
  });

  it('lists keys trusted through trustFiles and explains how to untrust them', async () => {
    const home = join(dir, 'trustfiles');
    await initHome(home, 'me');
    const key = sshKeygen(dir, 'via_file', 'ed25519', { comment: 'via-file' });
    const authorized = join(dir, 'tf_authorized_keys');
    writeFileSync(authorized, readFileSync(`${key}.pub`));
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ ...config, trustFiles: [authorized] }));
    const listed = JSON.parse((await runCliOk(['trusted', '--json', '--home', home])).text) as { name: string; source: string }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'via-file', source: authorized })]);
    const untrust = await runCli(['untrust', 'via-file', '--home', home]);
    expect(untrust.code).toBe(1);
    expect(untrust.stderr).toContain(authorized);
    expect(untrust.stderr).toMatch(/remove its line/);
  });

  it('keeps every key when several trust commands run at once', async () => {
    const home = join(dir, 'parallel');
    await initHome(home, 'me');
    const keys = [1, 2, 3, 4, 5].map((i) => sshKeygen(dir, `parallel${i}`, 'ed25519'));
    await Promise.all(keys.map((k) => runCliOk(['trust', `${k}.pub`, '--home', home])));
    const listed = JSON.parse((await runCliOk(['trusted', '--json', '--home', home])).text) as { fingerprint: string }[];
    expect(listed.map((k) => k.fingerprint).sort()).toEqual(keys.map((k) => sshFingerprint(`${k}.pub`)).sort());
  });

  it('trust reads .pub files and authorized_keys files, warns about lines it skips, and untrust removes', async () => {
    const home = join(dir, 'trust');
    await initHome(home, 'me');
    const k1 = sshKeygen(dir, 'peer1', 'ed25519', { comment: 'desk' });
    const k2 = sshKeygen(dir, 'peer2', 'rsa', { bits: 3072, comment: 'server' });
    const single = await runCliOk(['trust', `${k1}.pub`, '--home', home]);
    expect(single.text).toContain(sshFingerprint(`${k1}.pub`));

    const authorized = join(dir, 'authorized_keys');
    writeFileSync(
      authorized,
      [
        '# my keys',
        readFileSync(`${k2}.pub`, 'utf8').trim(),
        `from="10.0.0.1" ${readFileSync(`${k1}.pub`, 'utf8').trim()}`,
        'ssh-dss AAAAB3NzaC1kc3MAAACBAP old',
        '',
      ].join('\n'),
    );
    const many = await runCliOk(['trust', authorized, '--home', home]);
    expect(many.stderr).toMatch(/line 3: key options are not supported/);
    expect(many.stderr).toMatch(/line 4: key type ssh-dss is not supported/);
    const listed = JSON.parse((await runCliOk(['trusted', '--json', '--home', home])).text) as { name: string; fingerprint: string }[];
    expect(listed.map((k) => k.name).sort()).toEqual(['desk', 'server']);

    await runCliOk(['untrust', sshFingerprint(`${k2}.pub`), '--home', home]);
    await runCliOk(['untrust', 'desk', '--home', home]);
    expect(JSON.parse((await runCliOk(['trusted', '--json', '--home', home])).text)).toEqual([]);
    const missing = await runCli(['untrust', 'nobody', '--home', home]);
    expect(missing.code).toBe(1);
    const garbage = await runCli(['trust', 'not a key', '--home', home]);
    expect(garbage.code).toBe(1);
  });
});

describe('one daemon', () => {
  let dir: string;
  let home: string;
  let daemon: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    home = join(dir, 'home');
    await initHome(home, 'solo');
    writeFileSync(join(home, 'config.json'), JSON.stringify({ name: 'solo', maxClipBytes: 4096 }));
    daemon = await TestDaemon.start({ home });
  });
  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });

  it('reports status with the real bound port', async () => {
    const status = await daemon.status();
    expect(status.name).toBe('solo');
    expect(status.clipboard).toBe('memory');
    expect((status as unknown as { mdns: string }).mdns).toBe('off'); // test daemons run with --no-mdns
    expect(status.listen).toHaveLength(1);
    expect(status.listen[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(status.listen[0]).not.toMatch(/:0$/);
    expect(status.peers).toEqual({ connected: 0, known: 0 });
    expect(statSync(join(home, 'clipsync.sock')).mode & 0o777).toBe(0o600);
  });

  it('exits 4 when there is nothing to paste, then pastes what was copied', async () => {
    const empty = await daemon.cli(['paste']);
    expect(empty.code).toBe(4);
    expect(empty.stderr).toMatch(/nothing to paste/);
    await daemon.cliOk(['copy'], { input: 'hello' });
    expect((await daemon.cliOk(['paste'])).text).toBe('hello');
    const wrongType = await daemon.cli(['paste', '--mime', 'image/png']);
    expect(wrongType.code).toBe(4);
    expect((await daemon.cliOk(['paste', '--mime', 'text/plain'])).text).toBe('hello');
  });

  it('copies from a file with an explicit type', async () => {
    const file = join(dir, 'data.bin');
    writeFileSync(file, Buffer.from([0, 1, 2, 255]));
    await daemon.cliOk(['copy', file, '--mime', 'application/x-test']);
    expect((await daemon.status()).clip).toMatchObject({ mime: 'application/x-test', size: 4 });
    const missing = await daemon.cli(['copy', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
  });

  it('refuses an oversized clip with a clear message and keeps the previous clip', async () => {
    await daemon.cliOk(['copy'], { input: 'small' });
    const result = await daemon.cli(['copy'], { input: Buffer.alloc(5000, 7) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/larger than the limit of 4096 bytes/);
    expect((await daemon.cliOk(['paste'])).text).toBe('small');
  });

  it('refuses a second daemon on the same home', async () => {
    const second = await runCli(['daemon', '--home', home, '--listen', 'tcp://127.0.0.1:0', '--clipboard', 'memory', '--no-mdns']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running/);
    expect((await daemon.status()).name).toBe('solo');
  });
});

describe('daemon lifecycle', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('stop ends the daemon cleanly and removes the control socket', async () => {
    const home = join(dir, 'stop');
    await initHome(home, 'stopper');
    const daemon = await TestDaemon.start({ home });
    const result = await daemon.cliOk(['stop']);
    expect(result.text).toMatch(/stopped/);
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(home, 'clipsync.sock'))).toBe(false);
  });

  it('replaces a stale control socket left by a crash', async () => {
    const home = join(dir, 'stale');
    await initHome(home, 'crashy');
    const first = await TestDaemon.start({ home });
    await first.kill9();
    expect(existsSync(join(home, 'clipsync.sock'))).toBe(true);
    const second = await TestDaemon.start({ home });
    expect((await second.status()).name).toBe('crashy');
    await second.stop();
  });

  it('creates an identity on first run when none exists', async () => {
    const home = join(dir, 'fresh');
    const daemon = await TestDaemon.start({ home });
    const status = await daemon.status();
    expect(status.fingerprint).toBe(sshFingerprint(join(home, 'id_ed25519.pub')));
    await daemon.stop();
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
  });
});
