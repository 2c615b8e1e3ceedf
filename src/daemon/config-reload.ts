import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { loadConfig, type Config } from '../core/config/config.js';
import { isClipsyncError, messageOf } from '../core/errors.js';
import { componentLogger } from '../core/log.js';
import type { ConfigReloadResponse } from '../ipc/schema.js';
import { applyFlags, type DaemonSetup } from './daemon-setup.js';

/**
 * Keys a running daemon takes at once. Every other key (listen, identity, agent, name,
 * clipboard, mdns, timeouts, spool, …) is read once at start: a change to it is logged and
 * reported as needing a restart, and the running value stays until then. `peers` is live
 * for addresses added; one removed needs a restart.
 */
export const LIVE_KEYS: readonly string[] = ['history', 'peerRules', 'notify', 'sendSensitive', 'formats', 'maxClipBytes', 'eagerLimitBytes', 'peers'];

/** Editors write a file in steps (a temp file, a rename, a chmod): one reload after they settle. */
const SETTLE_MS = 300;

export interface ConfigReloader {
  /** The config in effect: the file's live keys as of the last good reload, the rest as at start. */
  current(): Config;
  /** Reads config.json now; an invalid file changes nothing (the log says which key and why). */
  reload(trigger: 'file' | 'SIGHUP' | 'request'): Promise<ConfigReloadResponse>;
  /** Follows config.json (its directory, so a file replaced by rename is still seen) and SIGHUP. */
  watch(): void;
  stop(): void;
}

/**
 * Live config: config.json validated by the same code as at start (loadConfig), the command
 * line's flags applied on top as at start, then compared key by key with what runs. `apply`
 * gets the new config (restart-only keys kept at their running values) and the live keys
 * that changed.
 */
export function configReloader(setup: DaemonSetup, apply: (next: Config, changed: string[]) => void): ConfigReloader {
  const log = componentLogger(setup.root, 'config');
  const file = setup.paths.configFile;
  let running = setup.config;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let reloading: Promise<unknown> = Promise.resolve();
  const onHup = (): void => void reload('SIGHUP');

  const reloadNow = async (trigger: 'file' | 'SIGHUP' | 'request'): Promise<ConfigReloadResponse> => {
    const text = await readFile(file, 'utf8').catch(() => '');
    // A touch, or the same bytes written again: nothing to do (a request or SIGHUP still answers).
    if (trigger === 'file' && text === lastText) return { ok: true, applied: [], restartNeeded: [] };
    let loaded: Config;
    try {
      loaded = applyFlags(await loadConfig(setup.paths), setup.flags);
    } catch (err) {
      const message = messageOf(err);
      log.warn({ file, key: /"([^"]+)"/.exec(message)?.[1] ?? null, reason: message, trigger }, 'config change rejected; the running config is kept');
      return { ok: false, error: isClipsyncError(err) ? err.toJSON() : { code: 'CLIPSYNC_ERR_CONFIG', message }, applied: [], restartNeeded: [] };
    }
    lastText = text;
    const changed = (Object.keys(loaded) as (keyof Config)[]).filter((key) => JSON.stringify(loaded[key]) !== JSON.stringify(running[key]));
    const applied: string[] = [];
    const restartNeeded: string[] = [];
    const next: Record<string, unknown> = { ...running };
    for (const key of changed) {
      const live = LIVE_KEYS.includes(key) && (key !== 'peers' || running.peers.every((p) => loaded.peers.includes(p)));
      if (live) {
        next[key] = loaded[key];
        applied.push(key);
      } else restartNeeded.push(key);
    }
    running = next as unknown as Config;
    if (applied.length > 0) {
      apply(running, applied);
      log.info({ keys: applied, trigger }, 'config change applied');
    }
    if (restartNeeded.length > 0) log.warn({ keys: restartNeeded, trigger }, 'config change needs a restart of the daemon to take effect');
    return { ok: true, applied, restartNeeded };
  };

  // One reload at a time, in order: a file event during a request's reload waits for it.
  const reload = (trigger: 'file' | 'SIGHUP' | 'request'): Promise<ConfigReloadResponse> => {
    const next = reloading.then(() => reloadNow(trigger));
    reloading = next.catch(() => undefined);
    return next;
  };

  return {
    current: () => running,
    reload,
    watch() {
      // No first read to compare against: a change landing during it would be taken for the
      // old bytes and missed. The first event reloads in full; unchanged keys change nothing.
      try {
        watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
          if (name !== null && name.toString() !== basename(file)) return;
          clearTimeout(timer);
          timer = setTimeout(() => void reload('file'), SETTLE_MS);
          timer.unref();
        });
        watcher.on('error', (err) => log.warn({ reason: messageOf(err) }, 'cannot watch config.json any more; SIGHUP still reloads it'));
      } catch (err) {
        log.warn({ dir: dirname(file), reason: messageOf(err) }, 'cannot watch config.json; SIGHUP reloads it');
      }
      process.on('SIGHUP', onHup);
    },
    stop() {
      clearTimeout(timer);
      watcher?.close();
      process.off('SIGHUP', onHup);
    },
  };
}

