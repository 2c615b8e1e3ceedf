import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { didYouMean, unknownKeyNote } from '../did-you-mean.js';
import { fail } from '../errors.js';
import type { Paths } from './paths.js';
import { isFormatGlob, type PeerRule, type PeerRules } from './peer-rules.js';

export const DEFAULT_PORT = 25470;
/** `auto` picks the platform's clipboard (else memory); `system` insists on one; the rest name a backend. */
export type ClipboardChoice = 'auto' | 'system' | 'memory' | 'x11' | 'wayland' | 'macos' | 'text';
export const CLIPBOARD_CHOICES: readonly ClipboardChoice[] = ['auto', 'system', 'memory', 'x11', 'wayland', 'macos', 'text'];

/** The settings file (config.json under the config dir). Every key is optional. */
/**
 * The largest clip the protocol can offer: an OFFER carries a 32-byte hash per 1 MiB leaf in
 * one message body of at most 960 KiB (docs/PROTOCOL.md §5.1), so 30,720 leaves.
 */
export const MAX_CLIP_BYTES_LIMIT = 30 * 1024 * 1024 * 1024;

export interface Config {
  /** Shown to peers; defaults to the host name. */
  name: string;
  /** Path of the private key (or, with `agent`, of the public key); defaults to id_ed25519 in the config dir. */
  identity: string;
  /** Sign through ssh-agent (SSH_AUTH_SOCK): the private key never leaves the agent. */
  agent: boolean;
  /** More authorized_keys files whose keys are trusted, read live (e.g. ~/.ssh/authorized_keys). */
  trustFiles: string[];
  listen: string[];
  peers: string[];
  mdns: boolean;
  /** Interfaces (names or addresses) mDNS uses; empty: the default multicast route. */
  mdnsInterfaces: string[];
  clipboard: ClipboardChoice;
  /** How often the text-only fallback (clipboardy) is read to notice local copies; native backends have events. */
  pollIntervalMs: number;
  /** Deadline of each read or write of the desktop clipboard: a frozen owner is skipped after it. */
  clipboardTimeoutMs: number;
  /** Which formats travel besides the defaults, and the cap of each (the clip's total is maxClipBytes). */
  formats: { extra: string[]; maxBytes: number };
  /** Send copies a password manager marked secret. Off: they never leave this machine. */
  sendSensitive: boolean;
  /** Sync the PRIMARY selection (X11, Wayland) as well as CLIPBOARD. */
  primary: boolean;
  /** Received clips larger than this are announced but fetched only when pasted. */
  eagerLimitBytes: number;
  /** Largest clip accepted from `copy` or from a peer. */
  maxClipBytes: number;
  /** Deadline for a peer to complete the handshake. */
  handshakeTimeoutMs: number;
  /** A ping this often; a peer that leaves one unanswered until the next is declared dead. */
  heartbeatIntervalMs: number;
  /** Clips larger than this are kept in files under the spool directory, not in memory. */
  spoolThresholdBytes: number;
  /** The spool's size cap: the oldest files that are not in use are removed beyond it. */
  spoolMaxBytes: number;
  /** Spool files not in use are removed after this long. */
  spoolMaxAgeMs: number;
  /** Bytes a receiver lets a sender have in flight per transfer (the credit window). */
  transferWindowBytes: number;
  /** Reconnection backoff: first delay and the cap it doubles up to (each with jitter). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** A pairing request not accepted on both sides within this expires (close 4011). */
  pairingTimeoutMs: number;
  /** The last `size` clips are kept for `clipsync history` (0: none); `persist` keeps them across restarts. */
  history: { size: number; persist: boolean };
  /** Per-peer rules, keyed by trust-store name or `SHA256:` fingerprint (sync/peer-rules.ts). */
  peerRules: PeerRules;
  /** Which notices become desktop notifications (the rest still reach `status --watch` and the tray). */
  notify: NotifyKind[];
  /** Where received files clips are kept, one directory per clip (cleaned up by the spool's rules). */
  filesDir: string;
  /** The most files and folders one files clip may have, sent or received. */
  maxFileEntries: number;
}

/** The most clips `history.size` may keep. */
export const MAX_HISTORY_SIZE = 1000;

export function defaultConfig(paths: Paths): Config {
  return {
    name: hostname(),
    identity: paths.defaultIdentityFile,
    agent: false,
    trustFiles: [],
    listen: [`tcp://0.0.0.0:${DEFAULT_PORT}`],
    peers: [],
    mdns: true,
    mdnsInterfaces: [],
    clipboard: 'auto',
    pollIntervalMs: 500,
    clipboardTimeoutMs: 2000,
    formats: { extra: [], maxBytes: 256 * 1024 * 1024 },
    sendSensitive: false,
    primary: false,
    eagerLimitBytes: 32 * 1024 * 1024,
    maxClipBytes: 512 * 1024 * 1024,
    handshakeTimeoutMs: 10_000,
    heartbeatIntervalMs: 15_000,
    spoolThresholdBytes: 8 * 1024 * 1024,
    spoolMaxBytes: 2 * 1024 * 1024 * 1024,
    spoolMaxAgeMs: 7 * 24 * 60 * 60 * 1000,
    // About 8 DATA frames of 960 KiB: enough in flight that the sender rarely waits for credit.
    transferWindowBytes: 8 * 1024 * 1024,
    backoffBaseMs: 1000,
    backoffCapMs: 30_000,
    pairingTimeoutMs: 120_000,
    history: { size: 50, persist: false },
    peerRules: {},
    notify: ['pairing', 'refused', 'failed'],
    filesDir: paths.filesDir,
    maxFileEntries: 100_000,
  };
}

/** Reads config.json (missing file = defaults) and checks every key, naming the bad one. */
export async function loadConfig(paths: Paths): Promise<Config> {
  const defaults = defaultConfig(paths);
  let text: string;
  try {
    text = await readFile(paths.configFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaults;
    throw fail('CLIPSYNC_ERR_CONFIG', `cannot read ${paths.configFile}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail('CLIPSYNC_ERR_CONFIG', `${paths.configFile} is not valid JSON (${(err as Error).message})`);
  }
  return validateConfig(raw, defaults, paths);
}

export function validateConfig(raw: unknown, defaults: Config, paths: Paths): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw fail('CLIPSYNC_ERR_CONFIG', `${paths.configFile} must hold a JSON object`);
  }
  const input = raw as Record<string, unknown>;
  const known = new Set(Object.keys(defaults));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw fail('CLIPSYNC_ERR_CONFIG', `unknown key "${key}" in ${paths.configFile}${didYouMean(key, known)}`);
  }
  const bad = (key: string, what: string): never => {
    throw fail('CLIPSYNC_ERR_CONFIG', `"${key}" in ${paths.configFile} must be ${what}`);
  };
  const str = (key: keyof Config): string | undefined => {
    const v = input[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' && v.trim() !== '' ? v : bad(key, 'a non-empty string');
  };
  const strings = (key: keyof Config): string[] | undefined => {
    const v = input[key];
    if (v === undefined) return undefined;
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : bad(key, 'an array of strings');
  };
  const positive = (key: keyof Config): number | undefined => {
    const v = input[key];
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : bad(key, 'a positive whole number');
  };
  const atLeast = (key: keyof Config, min: number): number | undefined => {
    const v = positive(key);
    return v === undefined || v >= min ? v : bad(key, `a whole number of at least ${min}`);
  };
  const atMost = (key: keyof Config, max: number): number | undefined => {
    const v = positive(key);
    return v === undefined || v <= max ? v : bad(key, `a whole number of at most ${max}`);
  };
  const mdns = input['mdns'];
  if (mdns !== undefined && typeof mdns !== 'boolean') bad('mdns', 'true or false');
  const agent = input['agent'];
  if (agent !== undefined && typeof agent !== 'boolean') bad('agent', 'true or false');
  const clipboard = input['clipboard'];
  if (clipboard !== undefined && !CLIPBOARD_CHOICES.includes(clipboard as ClipboardChoice)) {
    bad('clipboard', `one of ${CLIPBOARD_CHOICES.join(', ')}`);
  }
  const flag = (key: keyof Config): boolean | undefined => {
    const v = input[key];
    return v === undefined || typeof v === 'boolean' ? v : bad(key, 'true or false');
  };
  const formats = readFormats(input['formats'], defaults.formats, bad);
  const identity = str('identity');
  return {
    name: str('name') ?? defaults.name,
    identity: identity === undefined ? defaults.identity : resolveFrom(paths, identity),
    agent: (agent as boolean | undefined) ?? defaults.agent,
    trustFiles: (strings('trustFiles') ?? defaults.trustFiles).map((f) => resolveFrom(paths, f)),
    listen: strings('listen') ?? defaults.listen,
    peers: strings('peers') ?? defaults.peers,
    mdns: (mdns as boolean | undefined) ?? defaults.mdns,
    mdnsInterfaces: strings('mdnsInterfaces') ?? defaults.mdnsInterfaces,
    clipboard: (clipboard as ClipboardChoice | undefined) ?? defaults.clipboard,
    pollIntervalMs: positive('pollIntervalMs') ?? defaults.pollIntervalMs,
    clipboardTimeoutMs: positive('clipboardTimeoutMs') ?? defaults.clipboardTimeoutMs,
    formats,
    sendSensitive: flag('sendSensitive') ?? defaults.sendSensitive,
    primary: flag('primary') ?? defaults.primary,
    eagerLimitBytes: positive('eagerLimitBytes') ?? defaults.eagerLimitBytes,
    maxClipBytes: atMost('maxClipBytes', MAX_CLIP_BYTES_LIMIT) ?? defaults.maxClipBytes,
    handshakeTimeoutMs: positive('handshakeTimeoutMs') ?? defaults.handshakeTimeoutMs,
    heartbeatIntervalMs: positive('heartbeatIntervalMs') ?? defaults.heartbeatIntervalMs,
    spoolThresholdBytes: positive('spoolThresholdBytes') ?? defaults.spoolThresholdBytes,
    spoolMaxBytes: positive('spoolMaxBytes') ?? defaults.spoolMaxBytes,
    spoolMaxAgeMs: positive('spoolMaxAgeMs') ?? defaults.spoolMaxAgeMs,
    transferWindowBytes: atLeast('transferWindowBytes', 64 * 1024) ?? defaults.transferWindowBytes,
    backoffBaseMs: positive('backoffBaseMs') ?? defaults.backoffBaseMs,
    backoffCapMs: positive('backoffCapMs') ?? defaults.backoffCapMs,
    pairingTimeoutMs: positive('pairingTimeoutMs') ?? defaults.pairingTimeoutMs,
    history: readHistory(input['history'], defaults.history, bad),
    peerRules: readPeerRules(input['peerRules'], bad),
    notify: readNotify(input['notify'], defaults.notify, bad),
    filesDir: ((dir) => (dir === undefined ? defaults.filesDir : resolveFrom(paths, dir)))(str('filesDir')),
    maxFileEntries: positive('maxFileEntries') ?? defaults.maxFileEntries,
  };
}

/** `formats`: `{ "extra": ["application/x-foo"], "maxBytes": 67108864 }`, either key optional. */
function readFormats(value: unknown, defaults: Config['formats'], bad: (key: string, what: string) => never): Config['formats'] {
  if (value === undefined) return defaults;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('formats', 'an object with "extra" and "maxBytes"');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== 'extra' && key !== 'maxBytes') bad(`formats.${key}`, `one of formats.extra, formats.maxBytes (${unknownKeyNote('formats', key, ['extra', 'maxBytes'])})`);
  const extra = v['extra'];
  if (extra !== undefined && !(Array.isArray(extra) && extra.every((t) => typeof t === 'string' && /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(t)))) {
    bad('formats.extra', 'an array of media types such as "application/x-foo"');
  }
  const maxBytes = v['maxBytes'];
  if (maxBytes !== undefined && !(typeof maxBytes === 'number' && Number.isInteger(maxBytes) && maxBytes > 0)) bad('formats.maxBytes', 'a positive whole number');
  return { extra: (extra as string[] | undefined) ?? defaults.extra, maxBytes: (maxBytes as number | undefined) ?? defaults.maxBytes };
}

/** `history`: `{ "size": 50, "persist": false }`, either key optional. */
function readHistory(value: unknown, defaults: Config['history'], bad: (key: string, what: string) => never): Config['history'] {
  if (value === undefined) return defaults;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('history', 'an object with "size" and "persist"');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== 'size' && key !== 'persist') bad(`history.${key}`, `one of history.size, history.persist (${unknownKeyNote('history', key, ['size', 'persist'])})`);
  const size = v['size'];
  if (size !== undefined && !(typeof size === 'number' && Number.isInteger(size) && size >= 0 && size <= MAX_HISTORY_SIZE)) bad('history.size', `a whole number from 0 to ${MAX_HISTORY_SIZE}`);
  const persist = v['persist'];
  if (persist !== undefined && typeof persist !== 'boolean') bad('history.persist', 'true or false');
  return { size: (size as number | undefined) ?? defaults.size, persist: (persist as boolean | undefined) ?? defaults.persist };
}

/** `peerRules`: `{ "laptop": { "send": false }, "SHA256:…": { "formats": ["text/*"], "maxBytes": 1048576 } }`. */
function readPeerRules(value: unknown, bad: (key: string, what: string) => never): PeerRules {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('peerRules', 'an object keyed by peer name or SHA256: fingerprint');
  const rules: PeerRules = {};
  for (const [peer, raw] of Object.entries(value as Record<string, unknown>)) {
    const at = `peerRules.${peer}`;
    if (peer.trim() === '') bad('peerRules', 'keyed by non-empty peer names or SHA256: fingerprints');
    if (peer.startsWith('SHA256:') && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(peer)) bad(at, 'keyed by a whole fingerprint, SHA256: and 43 base64 characters (see `clipsync peers`)');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(at, 'an object with any of "send", "receive", "formats", "maxBytes"');
    const r = raw as Record<string, unknown>;
    const rule: PeerRule = {};
    for (const [key, v] of Object.entries(r)) {
      if (key === 'send' || key === 'receive') rule[key] = typeof v === 'boolean' ? v : bad(`${at}.${key}`, 'true or false');
      else if (key === 'formats') {
        rule.formats = Array.isArray(v) && v.every((g) => typeof g === 'string' && isFormatGlob(g)) ? (v as string[]) : bad(`${at}.formats`, 'an array of media types or globs such as "text/*", "image/png"');
      } else if (key === 'maxBytes') rule.maxBytes = typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : bad(`${at}.maxBytes`, 'a positive whole number');
      else bad(`${at}.${key}`, `one of send, receive, formats, maxBytes (${unknownKeyNote(at, key, ['send', 'receive', 'formats', 'maxBytes'])})`);
    }
    rules[peer] = rule;
  }
  return rules;
}

/**
 * `~/` is the user's home (so `"~/.ssh/authorized_keys"` works as written); other relative
 * paths in the config file are relative to the config dir, not the working dir.
 */
function resolveFrom(paths: Paths, path: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(paths.configDir, path);
}

/** Writes keys into config.json, keeping the others, atomically and private to the user. */
export async function updateConfigFile(paths: Paths, changes: Partial<Config>): Promise<void> {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(await readFile(paths.configFile, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw fail('CLIPSYNC_ERR_CONFIG', `cannot update ${paths.configFile}: it is unreadable or not JSON`);
    }
  }
  await mkdir(dirname(paths.configFile), { recursive: true, mode: 0o700 });
  const temp = `${paths.configFile}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify({ ...current, ...changes }, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600); // a leftover temp file keeps its old mode otherwise
  await rename(temp, paths.configFile);
}

/** Kinds of notice a desktop notification can be asked for (`notify`). */
export type NotifyKind = 'pairing' | 'refused' | 'failed' | 'received' | 'sensitive';
export const NOTIFY_KINDS: readonly NotifyKind[] = ['pairing', 'refused', 'failed', 'received', 'sensitive'];

/** `notify`: `["pairing", "refused", "failed"]` (the default), `[]` for none. */
function readNotify(value: unknown, defaults: NotifyKind[], bad: (key: string, what: string) => never): NotifyKind[] {
  if (value === undefined) return defaults;
  if (!Array.isArray(value)) return bad('notify', `an array of ${NOTIFY_KINDS.join(', ')}`);
  for (const kind of value) {
    if (typeof kind !== 'string' || !(NOTIFY_KINDS as readonly string[]).includes(kind)) {
      return bad('notify', `an array of ${NOTIFY_KINDS.join(', ')} (not ${JSON.stringify(kind)}${typeof kind === 'string' ? didYouMean(kind, NOTIFY_KINDS).replace(' (', '; ').replace(/\)$/, '') : ''})`);
    }
  }
  return [...new Set(value as NotifyKind[])];
}
