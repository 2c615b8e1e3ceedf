import { access, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig, updateConfigFile, type Config } from '../config/config.js';
import type { Paths } from '../config/paths.js';
import { fail } from '../errors.js';
import { generateIdentityFile, loadIdentityFile, type Identity } from './identity.js';

export interface InitResult {
  identity: Identity;
  created: boolean;
  config: Config;
}

/**
 * `clipsync init`, and the daemon's first run: makes the home and an identity. Never
 * replaces an identity that exists: running it again only reports the one there is.
 */
export async function initHome(paths: Paths, options: { name?: string; identityPath?: string } = {}): Promise<InitResult> {
  await mkdir(paths.configDir, { recursive: true, mode: 0o700 });
  let config = await loadConfig(paths);
  const existingPath = (await exists(config.identity)) ? config.identity : undefined;

  if (existingPath !== undefined) {
    const identity = await loadIdentityFile(existingPath);
    if (options.identityPath !== undefined) {
      const wanted = await loadIdentityFile(resolve(options.identityPath));
      if (wanted.publicKey.fingerprint !== identity.publicKey.fingerprint) {
        throw fail('CLIPSYNC_ERR_IDENTITY', `an identity already exists (${identity.publicKey.fingerprint} at ${existingPath}); it is never replaced`, {
          hint: `to switch keys, remove "identity" from ${paths.configFile} (and ${existingPath} if clipsync made it), then run init again`,
        });
      }
    }
    if (options.name !== undefined && options.name !== config.name) {
      await updateConfigFile(paths, { name: options.name });
      config = { ...config, name: options.name };
    }
    return { identity, created: false, config };
  }

  const changes: Partial<Config> = {};
  if (options.name !== undefined) changes.name = options.name;
  let identity: Identity;
  if (options.identityPath !== undefined) {
    const path = resolve(options.identityPath);
    identity = await loadIdentityFile(path);
    changes.identity = path;
  } else if (config.identity === paths.defaultIdentityFile) {
    await generateIdentityFile(paths.defaultIdentityFile, `clipsync@${options.name ?? config.name}`);
    identity = await loadIdentityFile(paths.defaultIdentityFile);
  } else {
    throw fail('CLIPSYNC_ERR_IDENTITY', `the identity ${config.identity} named in ${paths.configFile} does not exist`, {
      hint: 'fix the "identity" path in the config, or remove it to let clipsync create a key',
    });
  }
  if (Object.keys(changes).length > 0) await updateConfigFile(paths, changes);
  return { identity, created: true, config: { ...config, ...changes } };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
