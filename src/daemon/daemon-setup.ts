import type { ClipboardChoice, Config } from '../core/config/config.js';
import type { Paths } from '../core/config/paths.js';
import { componentLogger, type Logger } from '../core/log.js';
import type { Identity } from '../identity/identity.js';
import { initHome, loadConfiguredIdentity } from '../identity/setup.js';
import { TrustedKeys } from '../identity/trusted-keys.js';

/** Command-line choices that override config.json for this run. */
export interface DaemonFlags {
  listen?: string[];
  peers?: string[];
  mdns?: boolean;
  mdnsInterfaces?: string[];
  clipboard?: ClipboardChoice;
}

/** What every part of the daemon is built from: the home, its config, the identity and trust. */
export interface DaemonSetup {
  paths: Paths;
  config: Config;
  identity: Identity;
  trust: TrustedKeys;
  root: Logger;
  /** The command line's overrides, applied again on each config reload. */
  flags: DaemonFlags;
}

/** Creates the home on first run, applies the flags, loads the identity and the trusted keys. */
export async function loadSetup(paths: Paths, flags: DaemonFlags, root: Logger): Promise<DaemonSetup> {
  const log = componentLogger(root, 'daemon');
  const home = await initHome(paths);
  const config = applyFlags(home.config, flags);
  const identity = await loadConfiguredIdentity(config);
  if (home.created) log.info({ fingerprint: identity.publicKey.fingerprint, source: home.source }, 'created a new identity');
  const trust = new TrustedKeys(paths.trustFile, config.trustFiles, componentLogger(root, 'trust'));
  log.info({ trusted: await trust.count(), files: [paths.trustFile, ...config.trustFiles] }, 'trust loaded');
  return { paths, config, identity, trust, root, flags };
}

/** The flags over config.json; at start and again on every reload, so a flag keeps winning. */
export function applyFlags(config: Config, flags: DaemonFlags): Config {
  return {
    ...config,
    listen: flags.listen !== undefined && flags.listen.length > 0 ? flags.listen : config.listen,
    peers: [...config.peers, ...(flags.peers ?? [])],
    mdns: flags.mdns ?? config.mdns,
    mdnsInterfaces: flags.mdnsInterfaces !== undefined && flags.mdnsInterfaces.length > 0 ? flags.mdnsInterfaces : config.mdnsInterfaces,
    clipboard: flags.clipboard ?? config.clipboard,
  };
}
