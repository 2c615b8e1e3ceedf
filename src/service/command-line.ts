/**
 * What a service runs: the absolute node, the node flags the daemon is tuned with, the absolute
 * path of this installation's `dist/cli/main.js`, and the command. Absolute paths because neither
 * systemd's user manager nor launchd has the PATH of your shell (and `npm link` puts `clipsync`
 * wherever npm's prefix is): the unit names exactly what `clipsync service install` ran from.
 */

/**
 * The daemon's node flags, the same as package.json's `start` script (a test keeps the two
 * equal). --initial-old-space-size=64 (MiB) keeps V8 from a full garbage collection every few
 * megabytes while a large clip streams in (about a quarter faster, same peak memory);
 * --max-semi-space-size=1 (MiB) reclaims received messages' buffers sooner (a lower peak during a
 * large transfer); --single-threaded keeps V8's compiler and collector on the main thread, whose
 * helper threads otherwise leave 4–9 MiB of malloc arenas in an idle daemon (docs/BENCHMARKS.md).
 */
export const DAEMON_NODE_FLAGS = ['--initial-old-space-size=64', '--max-semi-space-size=1', '--single-threaded'] as const;

/**
 * The environment the daemon runs with, beside its node flags and kept equal with package.json's
 * `start` script the same way. glibc's malloc otherwise hands memory back to the kernel as soon
 * as 128 KiB lie free at the top of its heap (and maps anything over 128 KiB on its own): each
 * megabyte-sized message a large transfer passes through is then fresh pages to fault in, which
 * on a virtual machine costs more than decrypting them. Keeping up to 4 MiB of free heap, and
 * taking allocations under 4 MiB from it, cut the receiver's page faults per GiB from 12,000–40,000
 * to about 8,000 and a received gigabyte from 2.3–2.9 s to about 2.0 s, with the same peak memory.
 * More free heap kept (8 or 16 MiB) was no faster and left an idle daemon 6 MiB larger
 * (docs/BENCHMARKS.md). Only glibc reads it; elsewhere it is ignored.
 */
export const DAEMON_ENV = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=4194304' } as const;

/** DAEMON_ENV as `NAME=value` words, for `env` and systemd's Environment=. */
export function daemonEnvWords(): string[] {
  return Object.entries(DAEMON_ENV).map(([name, value]) => `${name}=${value}`);
}

export type ServiceProgram = 'daemon' | 'tray';

export interface Installation {
  /** Absolute path of node (process.execPath of the installing command). */
  nodePath: string;
  /** Absolute path of this installation's dist/cli/main.js. */
  entryPath: string;
  /** `--home DIR` for the service, absolute; undefined for the default home. */
  home?: string;
}

/** The argv a service runs, node first. The tray gets no daemon tuning flags. */
export function programArguments(install: Installation, program: ServiceProgram): string[] {
  const flags = program === 'daemon' ? [...DAEMON_NODE_FLAGS] : [];
  const home = install.home === undefined ? [] : ['--home', install.home];
  return [install.nodePath, ...flags, install.entryPath, program, ...home];
}

/** One command line for people to read or paste into a POSIX shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
