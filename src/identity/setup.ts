import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig, updateConfigFile, type Config } from '../core/config/config.js';
import type { Paths } from '../core/config/paths.js';
import { fail, isClipsyncError } from '../core/errors.js';
import { agentSocketFromEnv, listAgentKeys, loadAgentIdentity } from './agent-identity.js';
import { generateIdentityFile, loadIdentityFile, type Identity } from './identity.js';
import { PublicKey } from './public-key.js';

export interface InitOptions {
  name?: string;
  /** An existing OpenSSH private key, or with `agent` the public key (or its private key's path). */
  identityPath?: string;
  /** Sign through ssh-agent. */
  agent?: boolean;
}

export interface InitResult {
  publicKey: PublicKey;
  /** Where the identity lives, for people: a file path or "ssh-agent (…)". */
  source: string;
  created: boolean;
  config: Config;
}

/**
 * `clipsync init`, and the daemon's first run: makes the home and an identity. Never
 * replaces an identity that exists: running it again only reports the one there is.
 */
export async function initHome(paths: Paths, options: InitOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<InitResult> {
  await mkdir(paths.configDir, { recursive: true, mode: 0o700 });
  let config = await loadConfig(paths);

  if (await exists(config.identity)) {
    const publicKey = await loadConfiguredPublicKey(config);
    const wanted = await wantedPublicKey(options);
    if (wanted !== undefined && wanted.fingerprint !== publicKey.fingerprint) {
      throw fail('CLIPSYNC_ERR_IDENTITY', `an identity already exists (${publicKey.fingerprint} at ${config.identity}); it is never replaced`, {
        hint: `to switch keys, remove "identity" from ${paths.configFile} (and ${config.identity} if clipsync made it), then run init again`,
      });
    }
    if (options.name !== undefined && options.name !== config.name) {
      await updateConfigFile(paths, { name: options.name });
      config = { ...config, name: options.name };
    }
    return { publicKey, source: describeSource(config), created: false, config };
  }

  const changes: Partial<Config> = {};
  if (options.name !== undefined) changes.name = options.name;
  let publicKey: PublicKey;
  if (options.agent === true) {
    const socket = agentSocketFromEnv(env);
    const chosen = (await wantedPublicKey(options)) ?? (await listAgentKeys(socket))[0];
    if (chosen === undefined) {
      throw fail('CLIPSYNC_ERR_IDENTITY', 'ssh-agent holds no key clipsync can use', { hint: 'add one with `ssh-add PATH`' });
    }
    await loadAgentIdentity(socket, chosen, 'check'); // the agent must really hold it
    const pubPath = join(paths.configDir, 'id_agent.pub');
    await writeFile(pubPath, `${chosen.toLine()}\n`, { mode: 0o644 });
    publicKey = chosen;
    Object.assign(changes, { agent: true, identity: pubPath });
  } else if (options.identityPath !== undefined) {
    const path = resolve(options.identityPath);
    publicKey = (await loadIdentityFile(path)).publicKey;
    changes.identity = path;
  } else if (config.identity === paths.defaultIdentityFile) {
    await generateIdentityFile(paths.defaultIdentityFile, `clipsync@${options.name ?? config.name}`);
    publicKey = (await loadIdentityFile(paths.defaultIdentityFile)).publicKey;
  } else {
    throw fail('CLIPSYNC_ERR_IDENTITY', `the identity ${config.identity} named in ${paths.configFile} does not exist`, {
      hint: 'fix the "identity" path in the config, or remove it to let clipsync create a key',
    });
  }
  if (Object.keys(changes).length > 0) await updateConfigFile(paths, changes);
  config = { ...config, ...changes };
  return { publicKey, source: describeSource(config), created: true, config };
}

/** The identity the daemon signs with: a private key file, or a key held by ssh-agent. */
export async function loadConfiguredIdentity(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Identity> {
  if (!config.agent) return loadIdentityFile(config.identity);
  return loadAgentIdentity(agentSocketFromEnv(env), await readPublicKeyFile(config.identity), config.identity);
}

/** Only the public half, for `clipsync id`: needs neither the agent nor a passphrase. */
export async function loadConfiguredPublicKey(config: Config): Promise<PublicKey> {
  if (config.agent) return readPublicKeyFile(config.identity);
  return (await loadIdentityFile(config.identity)).publicKey;
}

function describeSource(config: Config): string {
  return config.agent ? `ssh-agent (${config.identity})` : config.identity;
}

/** With --identity: the key the user asked for (for --agent, a .pub or the private key beside one). */
async function wantedPublicKey(options: InitOptions): Promise<PublicKey | undefined> {
  if (options.identityPath === undefined) return undefined;
  const path = resolve(options.identityPath);
  if (options.agent !== true) return (await loadIdentityFile(path)).publicKey;
  try {
    return await readPublicKeyFile(path);
  } catch (err) {
    if (!path.endsWith('.pub') && isClipsyncError(err)) return readPublicKeyFile(`${path}.pub`);
    throw err;
  }
}

async function readPublicKeyFile(path: string): Promise<PublicKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fail('CLIPSYNC_ERR_IDENTITY', `cannot read the public key ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (line === undefined) throw fail('CLIPSYNC_ERR_IDENTITY', `${path} holds no public key`);
  try {
    return PublicKey.fromLine(line);
  } catch (err) {
    throw fail('CLIPSYNC_ERR_IDENTITY', `${path} is not a public key clipsync can use (${isClipsyncError(err) ? err.message : 'unreadable'})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
