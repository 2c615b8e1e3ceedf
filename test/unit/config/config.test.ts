import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PORT, defaultConfig, loadConfig, updateConfigFile, validateConfig } from '../../../src/core/config/config.js';
import { resolvePaths, type Paths } from '../../../src/core/config/paths.js';
import { ClipsyncError } from '../../../src/core/errors.js';
import { caught } from '../_support/keys.js';

const paths: Paths = resolvePaths('/cfg-home', {});
const defaults = defaultConfig(paths);

function configError(raw: unknown): ClipsyncError {
  try {
    validateConfig(raw, defaults, paths);
  } catch (err) {
    expect(err).toBeInstanceOf(ClipsyncError);
    expect((err as ClipsyncError).code).toBe('CLIPSYNC_ERR_CONFIG');
    return err as ClipsyncError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('defaultConfig', () => {
  it('listens on the default port and uses the identity in the config dir', () => {
    expect(defaults.listen).toEqual([`tcp://0.0.0.0:${DEFAULT_PORT}`]);
    expect(defaults.identity).toBe('/cfg-home/id_ed25519');
    expect(defaults.peers).toEqual([]);
    expect(defaults.clipboard).toBe('auto');
  });

  it('reads the clipboard with a 2 s deadline, sends the default formats up to 256 MiB each, and keeps secrets and PRIMARY local', () => {
    expect(defaults.clipboardTimeoutMs).toBe(2000);
    expect(defaults.formats).toEqual({ extra: [], maxBytes: 256 * 1024 * 1024 });
    expect(defaults.sendSensitive).toBe(false);
    expect(defaults.primary).toBe(false);
    expect(defaults.eagerLimitBytes).toBe(32 * 1024 * 1024);
  });
});

describe('validateConfig', () => {
  it('an empty object gives the defaults', () => {
    expect(validateConfig({}, defaults, paths)).toEqual(defaults);
  });

  it('refuses a transfer window under 64 KiB, naming the key', () => {
    expect(() => validateConfig({ transferWindowBytes: 1000 }, defaults, paths)).toThrow(/transferWindowBytes/);
  });

  it('takes every valid key', () => {
    const config = validateConfig(
      {
        name: 'box',
        identity: '/keys/id_rsa',
        agent: true,
        trustFiles: ['/etc/clipsync/keys', '/home/u/.ssh/authorized_keys'],
        listen: ['tcp://127.0.0.1:1', 'unix:/tmp/s'],
        peers: ['tcp://peer:25470'],
        mdns: false,
        mdnsInterfaces: ['eth0'],
        clipboard: 'memory',
        pollIntervalMs: 250,
        clipboardTimeoutMs: 750,
        formats: { extra: ['application/x-foo', 'image/bmp'], maxBytes: 4096 },
        sendSensitive: true,
        primary: true,
        eagerLimitBytes: 65_536,
        maxClipBytes: 1024,
        handshakeTimeoutMs: 3000,
        heartbeatIntervalMs: 2000,
        spoolThresholdBytes: 1_000_000,
        spoolMaxBytes: 9_000_000,
        spoolMaxAgeMs: 60_000,
        transferWindowBytes: 1_048_576,
        backoffBaseMs: 200,
        backoffCapMs: 5000,
        pairingTimeoutMs: 30_000,
        history: { size: 10, persist: true },
        peerRules: { laptop: { send: false }, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA': { formats: ['text/*'], maxBytes: 100, receive: true } },
        notify: ['pairing', 'received'],
        filesDir: 'received-here',
        maxFileEntries: 500,
      },
      defaults,
      paths,
    );
    expect(config).toEqual({
      name: 'box',
      identity: '/keys/id_rsa',
      agent: true,
      trustFiles: ['/etc/clipsync/keys', '/home/u/.ssh/authorized_keys'],
      listen: ['tcp://127.0.0.1:1', 'unix:/tmp/s'],
      peers: ['tcp://peer:25470'],
      mdns: false,
      mdnsInterfaces: ['eth0'],
      clipboard: 'memory',
      pollIntervalMs: 250,
      clipboardTimeoutMs: 750,
      formats: { extra: ['application/x-foo', 'image/bmp'], maxBytes: 4096 },
      sendSensitive: true,
      primary: true,
      eagerLimitBytes: 65_536,
      maxClipBytes: 1024,
      handshakeTimeoutMs: 3000,
      heartbeatIntervalMs: 2000,
      spoolThresholdBytes: 1_000_000,
      spoolMaxBytes: 9_000_000,
      spoolMaxAgeMs: 60_000,
      transferWindowBytes: 1_048_576,
      backoffBaseMs: 200,
      backoffCapMs: 5000,
      pairingTimeoutMs: 30_000,
      history: { size: 10, persist: true },
      peerRules: { laptop: { send: false }, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA': { formats: ['text/*'], maxBytes: 100, receive: true } },
      notify: ['pairing', 'received'],
      // Relative to the config dir, as every path in the file is.
      filesDir: join(paths.configDir, 'received-here'),
      maxFileEntries: 500,
    });
  });

  it.each(['auto', 'system', 'memory', 'x11', 'wayland', 'macos', 'text'] as const)('takes clipboard = %s', (clipboard) => {
    expect(validateConfig({ clipboard }, defaults, paths).clipboard).toBe(clipboard);
  });

  it('takes formats with either key alone, the other keeping its default', () => {
    expect(validateConfig({ formats: { extra: ['application/vnd.oasis.opendocument.text'] } }, defaults, paths).formats).toEqual({
      extra: ['application/vnd.oasis.opendocument.text'],
      maxBytes: defaults.formats.maxBytes,
    });
    expect(validateConfig({ formats: { maxBytes: 1 } }, defaults, paths).formats).toEqual({ extra: [], maxBytes: 1 });
    expect(validateConfig({ formats: {} }, defaults, paths).formats).toEqual(defaults.formats);
  });

  it('resolves a relative identity path against the config dir', () => {
    expect(validateConfig({ identity: 'keys/id_ed25519' }, defaults, paths).identity).toBe('/cfg-home/keys/id_ed25519');
    expect(validateConfig({ identity: '../elsewhere/k' }, defaults, paths).identity).toBe('/elsewhere/k');
    const xdg = resolvePaths(undefined, { XDG_CONFIG_HOME: '/xdg' });
    expect(validateConfig({ identity: 'id' }, defaultConfig(xdg), xdg).identity).toBe('/xdg/clipsync/id');
  });

  it('defaults to no agent and no extra trust files', () => {
    expect(defaults.agent).toBe(false);
    expect(defaults.trustFiles).toEqual([]);
  });

  it('expands ~/ in trustFiles to the home dir and resolves other relative paths against the config dir', () => {
    const config = validateConfig(
      { trustFiles: ['~/.ssh/authorized_keys', 'extra_keys', '../shared/keys', '/abs/keys', '~'] },
      defaults,
      paths,
    );
    expect(config.trustFiles).toEqual([
      join(homedir(), '.ssh/authorized_keys'),
      '/cfg-home/extra_keys',
      '/shared/keys',
      '/abs/keys',
      homedir(),
    ]);
  });

  it('does not expand ~user or a ~ inside a path', () => {
    const config = validateConfig({ trustFiles: ['~other/keys', 'a/~/b'] }, defaults, paths);
    expect(config.trustFiles).toEqual(['/cfg-home/~other/keys', '/cfg-home/a/~/b']);
  });

  it('expands ~/ in identity too', () => {
    expect(validateConfig({ identity: '~/.ssh/id_ed25519' }, defaults, paths).identity).toBe(join(homedir(), '.ssh/id_ed25519'));
  });

  it.each([null, [], 'text', 42, true])('rejects a non-object (%o)', (raw) => {
    expect(configError(raw).message).toContain(paths.configFile);
  });

  it.each(['port', 'Name', 'peer', 'identityFile', '__proto__x'])('rejects the unknown key %s, naming it', (key) => {
    const err = configError({ [key]: 1 });
    expect(err.message).toContain(`"${key}"`);
    expect(err.message).toMatch(/unknown key/);
  });

  it.each<[string, unknown]>([
    ['name', 5],
    ['name', ''],
    ['name', '   '],
    ['identity', false],
    ['identity', ''],
    ['listen', 'tcp://0.0.0.0:1'],
    ['listen', [1]],
    ['peers', {}],
    ['peers', ['ok', null]],
    ['mdns', 'yes'],
    ['mdns', 1],
    ['agent', 'true'],
    ['agent', 1],
    ['agent', null],
    ['trustFiles', '~/.ssh/authorized_keys'],
    ['trustFiles', [1]],
    ['trustFiles', ['ok', null]],
    ['clipboard', 'gtk'],
    ['clipboard', 'X11'],
    ['clipboard', true],
    ['clipboardTimeoutMs', 0],
    ['clipboardTimeoutMs', '2000'],
    ['sendSensitive', 'false'],
    ['sendSensitive', 0],
    ['primary', 'yes'],
    ['primary', null],
    ['eagerLimitBytes', -1],
    ['eagerLimitBytes', 1.5],
    ['formats', ['text/html']],
    ['formats', 'text/html'],
    ['formats', null],
    ['pollIntervalMs', 0],
    ['pollIntervalMs', -1],
    ['pollIntervalMs', 1.5],
    ['pollIntervalMs', '500'],
    ['maxClipBytes', null],
    ['handshakeTimeoutMs', Number.NaN],
    ['pairingTimeoutMs', 0],
    ['pairingTimeoutMs', '120000'],
  ])('rejects %s = %o, naming the key', (key, value) => {
    const err = configError({ [key]: value });
    expect(err.message).toContain(`"${key}"`);
    expect(err.message).toContain(paths.configFile);
  });

  it.each<[string, unknown]>([
    ['extra', 'application/x-foo'],
    ['extra', [1]],
    ['extra', ['text']],
    ['extra', ['text/plain;charset=utf-8']],
    ['extra', ['text/ html']],
    ['extra', ['application/x-foo', '']],
    ['maxBytes', 0],
    ['maxBytes', 2.5],
    ['maxBytes', '1024'],
  ])('rejects formats.%s = %o, naming the key', (key, value) => {
    const err = configError({ formats: { [key]: value } });
    expect(err.message).toContain(`"formats.${key}"`);
    expect(err.message).toContain(paths.configFile);
  });

  it('says formats.extra must be media types', () => {
    expect(configError({ formats: { extra: ['png'] } }).message).toBe(`"formats.extra" in ${paths.configFile} must be an array of media types such as "application/x-foo"`);
  });

  it.each([
    ['extras', '; did you mean "formats.extra"?'],
    ['maxbytes', '; did you mean "formats.maxBytes"?'],
    ['types', ''],
  ])('rejects the unknown key formats.%s, naming it (and a near one)', (key, near) => {
    const err = configError({ formats: { [key]: 1 } });
    expect(err.message).toBe(`"formats.${key}" in ${paths.configFile} must be one of formats.extra, formats.maxBytes (unknown key${near})`);
  });

  it('takes notify as a list of known kinds, naming a near miss', () => {
    expect(configError({ notify: 'all' }).message).toMatch(/"notify" in .* must be an array of pairing, refused, failed, received, sensitive/);
    expect(configError({ notify: ['refuse'] }).message).toMatch(/not "refuse"; did you mean "refused"\?/);
    expect(validateConfig({ notify: [] }, defaults, paths).notify).toEqual([]);
  });

  it('offers the key meant for a near-miss at the top level', () => {
    expect(configError({ pollIntervalMS: 5 }).message).toBe(`unknown key "pollIntervalMS" in ${paths.configFile} (did you mean "pollIntervalMs"?)`);
  });
});

describe('loadConfig / updateConfigFile', () => {
  let dir: string;
  let filePaths: Paths;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'clipsync-config-'));
    filePaths = resolvePaths(join(dir, 'home'), {});
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file gives the defaults', async () => {
    expect(await loadConfig(filePaths)).toEqual(defaultConfig(filePaths));
  });

  it('writes keys into a 0600 file, keeping the others, and loads them back', async () => {
    await updateConfigFile(filePaths, { name: 'one' });
    await updateConfigFile(filePaths, { peers: ['tcp://p:1'] });
    expect(JSON.parse(readFileSync(filePaths.configFile, 'utf8'))).toEqual({ name: 'one', peers: ['tcp://p:1'] });
    expect(statSync(filePaths.configFile).mode & 0o777).toBe(0o600);
    const config = await loadConfig(filePaths);
    expect(config.name).toBe('one');
    expect(config.peers).toEqual(['tcp://p:1']);
  });

  it('reports a file that is not JSON', async () => {
    writeFileSync(filePaths.configFile, '{ name: oops');
    const err = await caught(() => loadConfig(filePaths));
    expect((err as ClipsyncError).code).toBe('CLIPSYNC_ERR_CONFIG');
    expect((err as ClipsyncError).message).toMatch(/not valid JSON/);
  });

  it('reports an unknown key in the file', async () => {
    writeFileSync(filePaths.configFile, JSON.stringify({ colour: 'blue' }));
    const err = await caught(() => loadConfig(filePaths));
    expect((err as ClipsyncError).code).toBe('CLIPSYNC_ERR_CONFIG');
    expect((err as ClipsyncError).message).toContain('"colour"');
  });
});
