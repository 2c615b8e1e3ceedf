import { homedir, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

/** Where every piece of state lives. One function decides, so CLI and daemon always agree. */
export interface Paths {
  /** Set when `--home`/CLIPSYNC_HOME put everything under one directory. */
  home: string | undefined;
  configDir: string;
  stateDir: string;
  runtimeDir: string;
  configFile: string;
  defaultIdentityFile: string;
  trustFile: string;
  socketPath: string;
  pidFile: string;
  spoolDir: string;
  /** `history.persist`: the clip history across restarts (0600). */
  historyFile: string;
  /** Received files clips, a directory each (config `filesDir`): a cache, rebuilt by receiving again. */
  filesDir: string;
}

/**
 * With a home directory, all state is under it (tests, several daemons on one machine).
 * Otherwise the XDG base directories are used: config in $XDG_CONFIG_HOME/clipsync, the
 * control socket in $XDG_RUNTIME_DIR/clipsync (a per-user tmpfs with mode 0700), state in
 * $XDG_STATE_HOME/clipsync. Without XDG_RUNTIME_DIR (macOS, minimal systems) the socket goes
 * to a per-user directory under the temp dir, created 0700 by the daemon.
 */
export function resolvePaths(home: string | undefined, env: NodeJS.ProcessEnv = process.env): Paths {
  const chosenHome = home ?? nonEmpty(env['CLIPSYNC_HOME']);
  if (chosenHome !== undefined) {
    const dir = resolve(chosenHome);
    return build(dir, dir, dir, dir, dir);
  }
  const userHome = homedir();
  const configDir = join(nonEmpty(env['XDG_CONFIG_HOME']) ?? join(userHome, '.config'), 'clipsync');
  const stateDir = join(nonEmpty(env['XDG_STATE_HOME']) ?? join(userHome, '.local', 'state'), 'clipsync');
  const runtimeBase = nonEmpty(env['XDG_RUNTIME_DIR']);
  const runtimeDir = runtimeBase !== undefined ? join(runtimeBase, 'clipsync') : join(tmpdir(), `clipsync-${userInfo().uid}`);
  const cacheDir = join(nonEmpty(env['XDG_CACHE_HOME']) ?? join(userHome, '.cache'), 'clipsync');
  return build(undefined, configDir, stateDir, runtimeDir, cacheDir);
}

function build(home: string | undefined, configDir: string, stateDir: string, runtimeDir: string, cacheDir: string): Paths {
  return {
    home,
    configDir,
    stateDir,
    runtimeDir,
    configFile: join(configDir, 'config.json'),
    defaultIdentityFile: join(configDir, 'id_ed25519'),
    trustFile: join(configDir, 'trusted_keys'),
    socketPath: join(runtimeDir, 'clipsync.sock'),
    pidFile: join(runtimeDir, 'clipsync.pid'),
    spoolDir: join(stateDir, 'spool'),
    historyFile: join(stateDir, 'history.json'),
    filesDir: join(cacheDir, 'received'),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
