import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_ENTRY, runCli, runCliOk, type CliResult } from './cli.js';
import type { LogLine, PeerJson, StatusJson } from './daemon.js';
import { endProcess, type Testbed } from './netns.js';
import { childOutputWaiters, type OutputWaiters } from './output-waiters.js';

/**
 * A real `clipsync daemon` running inside a testbed host (a network namespace), with mDNS on.
 * Its home is an ordinary directory, so the CLI reaches it from the root namespace through
 * the control socket in that home: Unix sockets with a path belong to the filesystem, not to
 * a network namespace. Its JSON log lines are collected; tests wait for the line they need.
 */

/** The port every testbed daemon listens on (each host has its own addresses). */
export const MESH_PORT = 25470;
/** config.json keys for mesh tests: quick redials, so a lost race costs ms, not seconds. */
export const MESH_CONFIG = { backoffBaseMs: 100, backoffCapMs: 1000 };

export interface NetnsDaemonOptions {
  /** `h1`, `h2`, … or the host number. */
  host: string | number;
  home: string;
  /** Default: `tcp://0.0.0.0:25470` (inside the namespace, only the testbed's addresses). */
  listen?: string[];
  peers?: string[];
  /** Default true. */
  mdns?: boolean;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export class NetnsDaemon {
  readonly logs: LogLine[] = [];
  stderrText = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wall-clock time (ms) just before the process was spawned: comparable to log `time`. */
  readonly spawnedAt: number;
  readonly proc: ChildProcess;
  private readonly waiters: OutputWaiters;

  private constructor(
    readonly bed: Testbed,
    readonly options: NetnsDaemonOptions,
  ) {
    const args = [CLI_ENTRY, 'daemon', '--home', options.home, '--clipboard', 'memory'];
    for (const address of options.listen ?? [`tcp://0.0.0.0:${MESH_PORT}`]) args.push('--listen', address);
    for (const address of options.peers ?? []) args.push('--peer', address);
    if (options.mdns === false) args.push('--no-mdns');
    args.push(...(options.extraArgs ?? []));
    this.spawnedAt = Date.now();
    const proc = bed.spawn(options.host, [process.execPath, ...args], {
      env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'debug', ...options.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.waiters = childOutputWaiters(proc, (message) => this.failure(message));
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      this.stderrText += `${line}\n`;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null) this.logs.push(parsed as LogLine);
      } catch {
        // not a log line (a crash's stack trace); kept in stderrText
      }
      this.waiters.wake();
    });
  }

  /** Starts the daemon in its host and waits for `daemon ready`. */
  static async start(bed: Testbed, options: NetnsDaemonOptions): Promise<NetnsDaemon> {
    const daemon = new NetnsDaemon(bed, options);
    await daemon.waitForLog((l) => l.msg === 'daemon ready', 'daemon ready');
    return daemon;
  }

  get home(): string {
    return this.options.home;
  }

  get host(): string {
    return this.bed.host(this.options.host).name;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The number of log lines so far: pass as `since` to look only at later ones. */
  mark(): number {
    return this.logs.length;
  }

  logsSince(since: number, match: (line: LogLine) => boolean = () => true): LogLine[] {
    return this.logs.slice(since).filter(match);
  }

  /** Resolves with the first log line (from `since` on, past or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, what: string, options: { since?: number; timeoutMs?: number } = {}): Promise<LogLine> {
    return this.waiters.until(() => this.logs.slice(options.since ?? 0).find(match), what, options.timeoutMs);
  }

  /** Resolves with the matching lines (from `since` on) once there are at least `count`. */
  waitForLogs(match: (line: LogLine) => boolean, count: number, what: string, options: { since?: number; timeoutMs?: number } = {}): Promise<LogLine[]> {
    return this.waiters.until(
      () => {
        const found = this.logsSince(options.since ?? 0, match);
        return found.length >= count ? found : undefined;
      },
      what,
      options.timeoutMs,
    );
  }

  cli(args: string[], options: { input?: Buffer | string } = {}): Promise<CliResult> {
    return runCli([...args, '--home', this.home], options);
  }

  cliOk(args: string[], options: { input?: Buffer | string } = {}): Promise<CliResult> {
    return runCliOk([...args, '--home', this.home], options);
  }

  async status(): Promise<StatusJson> {
    return JSON.parse((await this.cliOk(['status', '--json'])).text) as StatusJson;
  }

  async peers(): Promise<MeshPeerJson[]> {
    return JSON.parse((await this.cliOk(['peers', '--json'])).text) as MeshPeerJson[];
  }

  /**
   * Waits until, for every fingerprint given, the latest `peer connected` / `peer disconnected`
   * line (from `since` on) is `peer connected`: a live session with that key, by the log alone.
   */
  async waitConnectedTo(fingerprints: readonly string[], what: string, since = 0): Promise<void> {
    await this.waiters.until(
      () => {
        const last = new Map<unknown, string>();
        for (const l of this.logs.slice(since)) if (l.msg === 'peer connected' || l.msg === 'peer disconnected') last.set(l['peer'], l.msg);
        return fingerprints.every((fp) => last.get(fp) === 'peer connected') ? true : undefined;
      },
      `${this.host} to be connected to ${what}`,
    );
  }

  /** SIGTERM (the daemon says goodbye by mDNS and to its peers), then waits for the exit; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await endProcess(this.proc, 10_000);
  }

  private failure(message: string): Error {
    return new Error(`daemon in ${this.host} (${this.home}): ${message}\n--- log (tail) ---\n${this.stderrText.slice(-6000)}`);
  }
}

/** `peers --json` entries, with the mDNS field. */
export interface MeshPeerJson extends PeerJson {
  discovered: boolean;
  direction: 'inbound' | 'outbound' | null;
}

export interface MeshHome {
  name: string;
  home: string;
  publicKey: string;
  fingerprint: string;
}

/** `clipsync init` a home named `name` under `dir`, with MESH_CONFIG merged into its config.json. */
export async function initMeshHome(dir: string, name: string, config: Record<string, unknown> = MESH_CONFIG): Promise<MeshHome> {
  const home = join(dir, name);
  await runCliOk(['init', '--home', home, '--name', name]);
  const id = JSON.parse((await runCliOk(['id', '--json', '--home', home])).text) as { publicKey: string; fingerprint: string };
  const file = join(home, 'config.json');
  writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>), ...config }));
  return { name, home, ...id };
}

/** Makes `home` trust each of `others` with `clipsync trust`. */
export async function trustAll(home: MeshHome, others: readonly MeshHome[]): Promise<void> {
  for (const other of others) await runCliOk(['trust', other.publicKey, '--home', home.home]);
}
