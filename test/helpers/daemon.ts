import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_ENTRY, runCli, runCliOk, type CliResult } from './cli.js';
import { childOutputWaiters, type OutputWaiters } from './output-waiters.js';
import { waitFor } from './wait.js';

export interface LogLine {
  level: number;
  msg: string;
  component?: string;
  [key: string]: unknown;
}

export interface DaemonOptions {
  home: string;
  listen?: string[];
  peers?: string[];
  clipboard?: 'auto' | 'system' | 'memory';
  env?: NodeJS.ProcessEnv;
  extraArgs?: string[];
  /** Options for node itself, before the CLI's path (e.g. `--import` a loader hook). */
  nodeArgs?: string[];
}

/**
 * A real `clipsync daemon` child process. Its JSON log lines are collected so tests can
 * wait for the event they need ("daemon ready", "peer connected", …) instead of sleeping.
 */
export class TestDaemon {
  readonly logs: LogLine[] = [];
  stderrText = '';
  private readonly waiters: OutputWaiters;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly options: DaemonOptions,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.waiters = childOutputWaiters(proc, (message) => new Error(`daemon ${message}; daemon log:\n${this.stderrText}`));
    const lines = createInterface({ input: proc.stderr! });
    lines.on('line', (line) => {
      this.stderrText += `${line}\n`;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (e.g. a crash message); kept in stderrText
      }
      this.waiters.wake();
    });
  }

  get home(): string {
    return this.options.home;
  }

  static async start(options: DaemonOptions): Promise<TestDaemon> {
    const args = [CLI_ENTRY, 'daemon', '--home', options.home, '--clipboard', options.clipboard ?? 'memory'];
    // Never fall back to the default listen address (all interfaces): tests stay on loopback
    // and Unix sockets. "No listener" becomes a socket inside the home.
    const listen = options.listen ?? ['tcp://127.0.0.1:0'];
    for (const address of listen.length > 0 ? listen : [`unix:${options.home}/peer.sock`]) args.push('--listen', address);
    for (const address of options.peers ?? []) args.push('--peer', address);
    args.push('--no-mdns', ...(options.extraArgs ?? []));
    const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
      // No desktop notifications from tests unless a test gives its own (private) bus.
      env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'debug', DBUS_SESSION_BUS_ADDRESS: '', ...options.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const daemon = new TestDaemon(options, proc);
    await daemon.waitForLog((l) => l.msg === 'daemon ready', 'daemon ready');
    return daemon;
  }

  /** Resolves with the first log line (past or future) matching `match`. */
  waitForLog(match: (line: LogLine) => boolean, what = 'a log line', timeoutMs = 30_000): Promise<LogLine> {
    return this.waiters.until(() => this.logs.find(match), what, timeoutMs);
  }

  cli(args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return runCli([...args, '--home', this.home], options);
  }

  /** Like runCliOk; an internal error in the daemon brings the daemon's log into the failure. */
  async cliOk(args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    try {
      return await runCliOk([...args, '--home', this.home], options);
    } catch (err) {
      if ((err as Error).message.includes('internal error')) (err as Error).message += `\ndaemon log:\n${this.stderrText}`;
      throw err;
    }
  }

  async status(): Promise<StatusJson> {
    return JSON.parse((await this.cliOk(['status', '--json'])).text) as StatusJson;
  }

  async peers(): Promise<PeerJson[]> {
    return JSON.parse((await this.cliOk(['peers', '--json'])).text) as PeerJson[];
  }

  /** The TCP address this daemon actually listens on (for `--listen tcp://127.0.0.1:0`). */
  async tcpAddress(): Promise<string> {
    const address = (await this.status()).listen.find((a) => a.startsWith('tcp://'));
    if (address === undefined) throw new Error('daemon has no TCP listener');
    return address;
  }

  /** Waits until `peers --json` shows `count` connected peers. */
  async waitConnected(count = 1): Promise<PeerJson[]> {
    try {
      return await waitFor(
        async () => {
          const peers = await this.peers();
          return peers.filter((p) => p.state === 'connected').length === count ? peers : undefined;
        },
        { what: `${count} connected peer(s) on ${this.home}` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\npeers: ${JSON.stringify(await this.peers().catch(() => null))}\nlog:\n${this.stderrText}`);
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }

  kill9(): Promise<unknown> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}

export interface StatusJson {
  name: string;
  fingerprint: string;
  publicKey: string;
  listen: string[];
  clipboard: string;
  clipboardBackend: string;
  clipboardReason: string;
  sensitiveSkipped: number;
  peers: { connected: number; known: number };
  clip: { id: string; formats: { mime: string; size: number }[]; mime: string; size: number } | null;
}

export interface PeerJson {
  fingerprint: string | null;
  name: string | null;
  address: string | null;
  state: string;
  lastError: string | null;
  rttMs?: number | null;
  nextRetryMs?: number | null;
}

/** `init` a home with a name and return its authorized_keys line and fingerprint. */
export async function initHome(home: string, name: string, extra: string[] = []): Promise<{ publicKey: string; fingerprint: string }> {
  await runCliOk(['init', '--home', home, '--name', name, ...extra]);
  return JSON.parse((await runCliOk(['id', '--json', '--home', home])).text) as { publicKey: string; fingerprint: string };
}

/** Makes `home` trust the identity of `otherHome`. */
export async function trust(home: string, otherHome: string): Promise<void> {
  const other = JSON.parse((await runCliOk(['id', '--json', '--home', otherHome])).text) as { publicKey: string };
  await runCliOk(['trust', other.publicKey, '--home', home]);
}

/** Homes `dir/a` (alpha) and `dir/b` (beta), trusting each other, with these config.json keys. */
/** Two fresh homes under `dir`, alpha (`a`) and beta (`b`), that trust nobody yet. */
export async function homePair(dir: string): Promise<{ homeA: string; homeB: string; fpA: string; fpB: string }> {
  const homeA = join(dir, 'a');
  const homeB = join(dir, 'b');
  const fpA = (await initHome(homeA, 'alpha')).fingerprint;
  const fpB = (await initHome(homeB, 'beta')).fingerprint;
  return { homeA, homeB, fpA, fpB };
}

export async function trustedHomePair(dir: string, configA: Record<string, unknown>, configB: Record<string, unknown>): Promise<{ homeA: string; homeB: string }> {
  const { homeA, homeB } = await homePair(dir);
  await trust(homeA, homeB);
  await trust(homeB, homeA);
  mergeConfig(homeA, configA);
  mergeConfig(homeB, configB);
  return { homeA, homeB };
}

/**
 * Two homes, alpha and beta, that trust each other, each with optional config.json keys;
 * alpha listens (TCP on loopback unless `listen` says otherwise) and beta dials it. Resolves
 * once both see each other connected.
 */
export async function startTrustedPair(
  dir: string,
  options: { listen?: string; configA?: Record<string, unknown>; configB?: Record<string, unknown> } = {},
): Promise<{ a: TestDaemon; b: TestDaemon }> {
  const { homeA, homeB } = await trustedHomePair(dir, options.configA ?? {}, options.configB ?? {});
  const listen = options.listen ?? 'tcp://127.0.0.1:0';
  const a = await TestDaemon.start({ home: homeA, listen: [listen] });
  const peerAddress = listen.startsWith('tcp://') ? await a.tcpAddress() : listen;
  const b = await TestDaemon.start({ home: homeB, listen: [], peers: [peerAddress] });
  await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  return { a, b };
}

/** Sets config.json keys in a home, keeping the others. */
export function mergeConfig(home: string, changes: Record<string, unknown>): void {
  const file = join(home, 'config.json');
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...current, ...changes }));
}
