import { homedir, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePaths } from '../../../src/core/config/paths.js';

describe('resolvePaths', () => {
  it('puts everything under an explicit home', () => {
    const home = '/srv/clipsync-home';
    const paths = resolvePaths(home, {});
    expect(paths).toEqual({
      home,
      configDir: home,
      stateDir: home,
      runtimeDir: home,
      configFile: join(home, 'config.json'),
      defaultIdentityFile: join(home, 'id_ed25519'),
      trustFile: join(home, 'trusted_keys'),
      socketPath: join(home, 'clipsync.sock'),
      pidFile: join(home, 'clipsync.pid'),
      spoolDir: join(home, 'spool'),
      historyFile: join(home, 'history.json'),
      filesDir: join(home, 'received'),
    });
  });

  it('resolves a relative home to an absolute one', () => {
    const paths = resolvePaths('rel/home', {});
    expect(paths.home).toBe(resolve('rel/home'));
    expect(paths.configFile).toBe(join(resolve('rel/home'), 'config.json'));
  });

  it('an explicit home wins over CLIPSYNC_HOME and XDG variables', () => {
    const paths = resolvePaths('/explicit', {
      CLIPSYNC_HOME: '/from-env',
      XDG_CONFIG_HOME: '/xdg/config',
      XDG_RUNTIME_DIR: '/xdg/run',
    });
    expect(paths.home).toBe('/explicit');
    expect(paths.socketPath).toBe('/explicit/clipsync.sock');
  });

  it('uses CLIPSYNC_HOME when no home is given', () => {
    const paths = resolvePaths(undefined, { CLIPSYNC_HOME: '/from-env', XDG_CONFIG_HOME: '/xdg/config' });
    expect(paths.home).toBe('/from-env');
    expect(paths.configDir).toBe('/from-env');
    expect(paths.trustFile).toBe('/from-env/trusted_keys');
  });

  it('honours the XDG base directory variables', () => {
    const paths = resolvePaths(undefined, {
      XDG_CONFIG_HOME: '/xdg/config',
      XDG_STATE_HOME: '/xdg/state',
      XDG_RUNTIME_DIR: '/run/user/1234',
      XDG_CACHE_HOME: '/xdg/cache',
    });
    expect(paths.home).toBeUndefined();
    expect(paths.filesDir).toBe('/xdg/cache/clipsync/received');
    expect(paths.configDir).toBe('/xdg/config/clipsync');
    expect(paths.configFile).toBe('/xdg/config/clipsync/config.json');
    expect(paths.defaultIdentityFile).toBe('/xdg/config/clipsync/id_ed25519');
    expect(paths.trustFile).toBe('/xdg/config/clipsync/trusted_keys');
    expect(paths.stateDir).toBe('/xdg/state/clipsync');
    expect(paths.spoolDir).toBe('/xdg/state/clipsync/spool');
    expect(paths.runtimeDir).toBe('/run/user/1234/clipsync');
    expect(paths.socketPath).toBe('/run/user/1234/clipsync/clipsync.sock');
    expect(paths.pidFile).toBe('/run/user/1234/clipsync/clipsync.pid');
  });

  it('falls back to ~/.config, ~/.local/state and a per-user temp dir without XDG variables', () => {
    const paths = resolvePaths(undefined, {});
    expect(paths.configDir).toBe(join(homedir(), '.config', 'clipsync'));
    expect(paths.stateDir).toBe(join(homedir(), '.local', 'state', 'clipsync'));
    expect(paths.runtimeDir).toBe(join(tmpdir(), `clipsync-${userInfo().uid}`));
    expect(paths.filesDir).toBe(join(homedir(), '.cache', 'clipsync', 'received'));
  });

  it('treats empty variables as unset', () => {
    const paths = resolvePaths(undefined, { CLIPSYNC_HOME: '', XDG_CONFIG_HOME: '', XDG_STATE_HOME: '', XDG_RUNTIME_DIR: '' });
    expect(paths.home).toBeUndefined();
    expect(paths.configDir).toBe(join(homedir(), '.config', 'clipsync'));
    expect(paths.runtimeDir).toBe(join(tmpdir(), `clipsync-${userInfo().uid}`));
  });
});
