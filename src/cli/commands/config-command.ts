import { closestName } from '../../core/did-you-mean.js';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { defaultConfig, validateConfig, type Config } from '../../core/config/config.js';
import type { Paths } from '../../core/config/paths.js';
import { ClipsyncError, fail, isClipsyncError } from '../../core/errors.js';
import type { ConfigReloadResponse } from '../../ipc/schema.js';
import { clientFrom, pathsFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine } from '../output.js';

/** `clipsync config get|set|check`: config.json read, edited and checked without a daemon, by the daemon's own validation. */
export function configCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command('config', 'Read, change or check config.json (get KEY, set KEY VALUE, check [FILE])', (y) =>
    y
      .command(
        'get <key>',
        'Print the value in effect for KEY (dotted, e.g. history.size): from config.json, else the default',
        (c) => c.positional('key', { type: 'string', demandOption: true }),
        (args) => configGet(args),
      )
      .command(
        'set <key> <value>',
        'Set KEY to VALUE (JSON when it parses as JSON, else a string; null removes it) and tell the running daemon',
        (c) => c.positional('key', { type: 'string', demandOption: true }).positional('value', { type: 'string', demandOption: true }).example('clipsync config set history.size 100', ''),
        (args) => configSet(args),
      )
      .command(
        'check [file]',
        'Check a config file (default: this home\'s config.json) the way the daemon would; exit 1 naming the bad key',
        (c) => c.positional('file', { type: 'string' }),
        (args) => configCheck(args),
      )
      .demandCommand(1, 'name a config action: get, set or check'),
  );
}

async function configGet(args: GlobalArgs & { key: string }): Promise<void> {
  const paths = pathsFrom(args);
  const raw = await readRaw(paths.configFile);
  const effective = validateConfig(raw, defaultConfig(paths), paths);
  const path = keyPath(args.key);
  const value = dig(effective as unknown as Record<string, unknown>, path);
  if (value === undefined && path[0] !== 'peerRules') throw badKey(args.key);
  const inFile = dig(raw, path) !== undefined;
  if (args.json === true) printJson({ key: args.key, value: value ?? null, source: inFile ? 'file' : 'default' });
  else printLine(typeof value === 'string' ? value : JSON.stringify(value ?? null));
}

async function configSet(args: GlobalArgs & { key: string; value: string }): Promise<void> {
  const paths = pathsFrom(args);
  const raw = await readRaw(paths.configFile);
  // A file broken already is the file's problem (exit 1); a bad new value is the command line's (exit 2).
  validateConfig(raw, defaultConfig(paths), paths);
  const path = keyPath(args.key);
  const value = parseValue(args.value);
  const next = structuredClone(raw);
  put(next, path, value);
  try {
    validateConfig(next, defaultConfig(paths), paths);
  } catch (err) {
    if (isClipsyncError(err)) throw new ClipsyncError('CLIPSYNC_ERR_USAGE', err.message, { hint: `nothing was written; \`clipsync config get ${path[0]}\` shows the value in effect` });
    throw err;
  }
  await writeAtomically(paths.configFile, next);
  const daemon = await tellDaemon(args);
  const top = path[0]!;
  const outcome =
    daemon === 'not running'
      ? 'not-running'
      : daemon === 'old daemon' || daemon.restartNeeded.includes(top)
        ? 'restart-needed'
        : daemon.ok
          ? 'applied'
          : 'rejected';
  if (args.json === true) {
    printJson({ key: args.key, value, file: paths.configFile, daemon: outcome });
    return;
  }
  printLine(`${args.key} = ${JSON.stringify(value)} in ${paths.configFile}`);
  if (outcome === 'applied') printLine('the running daemon applied it');
  else if (outcome === 'restart-needed') printLine('the running daemon needs a restart for it: clipsync stop, then start it again');
  else if (outcome === 'not-running') printLine('no daemon is running; it takes effect when one starts');
  else printLine(`the running daemon refused the file: ${daemon === 'not running' || daemon === 'old daemon' ? '' : (daemon.error?.message ?? '')}`);
}

async function configCheck(args: GlobalArgs & { file?: string }): Promise<void> {
  const home = pathsFrom(args);
  const file = args.file === undefined ? home.configFile : resolve(args.file);
  // Messages name the file checked; relative paths in it resolve from its own directory.
  const paths: Paths = { ...home, configFile: file, configDir: dirname(file) };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fail('CLIPSYNC_ERR_CONFIG', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { hint: 'give the path of a config.json' });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail('CLIPSYNC_ERR_CONFIG', `${file} is not valid JSON (${(err as Error).message})`, { hint: 'fix the JSON syntax; the daemon would not start with it' });
  }
  validateConfig(raw, defaultConfig(paths), paths);
  if (args.json === true) printJson({ ok: true, file });
  else printLine(`${file}: ok`);
}

/** Asks the running daemon to read config.json now (docs/CONTROL-API.md `POST /v1/config/reload`). */
async function tellDaemon(args: GlobalArgs): Promise<ConfigReloadResponse | 'not running' | 'old daemon'> {
  try {
    return await clientFrom(args).json<ConfigReloadResponse>({ method: 'POST', path: '/v1/config/reload' });
  } catch (err) {
    if (isClipsyncError(err) && err.code === 'CLIPSYNC_ERR_NOT_RUNNING') return 'not running';
    if (isClipsyncError(err) && err.code === 'CLIPSYNC_ERR_NO_ROUTE') return 'old daemon';
    throw err;
  }
}

const RULE_FIELDS = ['send', 'receive', 'formats', 'maxBytes'];

/**
 * A dotted key as its path: `history.size` → [history, size]. Peer names may hold dots, so
 * `peerRules.NAME[.FIELD]` splits only the rule field off the end.
 */
function keyPath(key: string): string[] {
  if (key.startsWith('peerRules.')) {
    const rest = key.slice('peerRules.'.length);
    const dot = rest.lastIndexOf('.');
    const field = dot >= 0 ? rest.slice(dot + 1) : '';
    const path = RULE_FIELDS.includes(field) ? ['peerRules', rest.slice(0, dot), field] : ['peerRules', rest];
    if (path.some((p) => p === '')) throw badKey(key);
    return path;
  }
  const path = key.split('.');
  if (path.some((p) => p === '')) throw badKey(key);
  const known = Object.keys(defaultConfig(pathsFrom({}))) as (keyof Config)[];
  if (!known.includes(path[0] as keyof Config)) throw badKey(key, known);
  return path;
}

function badKey(key: string, known: readonly string[] = []): ClipsyncError {
  // The first part is what is checked here: `histroy.size` → "history.size".
  const [first = '', ...rest] = key.split('.');
  const near = closestName(first, known);
  const suggestion = near === undefined ? '' : ` (did you mean "${[near, ...rest].join('.')}"?)`;
  return fail('CLIPSYNC_ERR_USAGE', `"${key}" is not a config key${suggestion}`, { hint: 'see the config.json table in the README; nested keys are dotted, e.g. history.size' });
}

function dig(value: unknown, path: string[]): unknown {
  let at = value;
  for (const part of path) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Sets (or with null, removes) the value at `path`, making the objects on the way. */
function put(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const part of path.slice(0, -1)) {
    const next = at[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === null) delete at[last];
  else at[last] = value;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** config.json as written (an object), or {} when there is none. */
async function readRaw(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw fail('CLIPSYNC_ERR_CONFIG', `cannot read ${file}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail('CLIPSYNC_ERR_CONFIG', `${file} is not valid JSON (${(err as Error).message})`, { hint: 'fix it by hand, or check it with `clipsync config check`' });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('CLIPSYNC_ERR_CONFIG', `${file} must hold a JSON object`);
  return raw as Record<string, unknown>;
}

/** Private to the user and never half-written: a temp file in the same directory, renamed over. */
async function writeAtomically(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}
