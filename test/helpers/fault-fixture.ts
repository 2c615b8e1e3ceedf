import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { TestDaemon, initHome, trust, type LogLine } from './daemon.js';
import { makeTempDir, removeDir } from './tmp.js';

/**
 * Shared set-up for the fault tests: homes that trust each other, daemons that are always
 * stopped, and log matching that only looks at what happened after a given moment.
 */

export interface HomeInfo {
  home: string;
  name: string;
  publicKey: string;
  fingerprint: string;
}

/** Merges `values` into the home's config.json (which `init` created). */
export function writeConfig(home: string, values: Record<string, unknown>): void {
  const file = join(home, 'config.json');
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // no config yet
  }
  writeFileSync(file, `${JSON.stringify({ ...current, ...values }, null, 2)}\n`, { mode: 0o600 });
}

/** A temp dir holding daemon homes; `cleanup` stops every daemon started through it. */
export class FaultWorld {
  private made: string | undefined;
  private readonly daemons: TestDaemon[] = [];
  private readonly closers: (() => Promise<void>)[] = [];

  /** Created on first use, so a world made at collection time costs nothing until it runs. */
  get dir(): string {
    this.made ??= makeTempDir('csf-');
    return this.made;
  }

  async home(name: string, config: Record<string, unknown> = {}): Promise<HomeInfo> {
    const home = join(this.dir, name);
    const id = await initHome(home, name);
    if (Object.keys(config).length > 0) writeConfig(home, config);
    return { home, name, ...id };
  }

  /** Makes each home trust every other one. */
  async trustAll(...homes: HomeInfo[]): Promise<void> {
    for (const a of homes) for (const b of homes) if (a !== b) await trust(a.home, b.home);
  }

  async start(home: HomeInfo, options: { listen?: string[]; peers?: string[] } = {}): Promise<TestDaemon> {
    const daemon = await TestDaemon.start({ home: home.home, listen: options.listen, peers: options.peers });
    this.daemons.push(daemon);
    return daemon;
  }

  /** Runs `close` at cleanup, before the daemons stop (proxies, raw clients). */
  onCleanup(close: () => Promise<void> | void): void {
    this.closers.push(async () => close());
  }

  async cleanup(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
    await Promise.all(this.daemons.splice(0).map((d) => d.stop()));
    if (this.made !== undefined) removeDir(this.made);
    this.made = undefined;
  }
}

/**
 * A cursor into a daemon's log: `wait` and `lines` see only lines logged after the cursor
 * was made, so a test sharing daemons with others never matches an older event.
 */
export function logCursor(daemon: TestDaemon): { wait: (match: (l: LogLine) => boolean, what: string, timeoutMs?: number) => Promise<LogLine>; lines: () => LogLine[] } {
  const start = daemon.logs.length;
  const after = (l: LogLine): boolean => daemon.logs.indexOf(l, start) !== -1;
  return {
    wait: (match, what, timeoutMs) => daemon.waitForLog((l) => after(l) && match(l), what, timeoutMs),
    lines: () => daemon.logs.slice(start),
  };
}

/** A refusal or failure as the listener logs it. */
export function isClosing(code: number, remote?: string): (l: LogLine) => boolean {
  return (l) => l.msg === 'closing connection' && l['code'] === code && (remote === undefined || l['remote'] === remote);
}

/** `copy --wait --json` on `from`, expecting delivery to every connected peer; then `paste` on each `to`. */
export async function expectSync(from: TestDaemon, to: TestDaemon[], content: Buffer, mime?: string): Promise<void> {
  const args = ['copy', '--wait', '--json', ...(mime ? ['--mime', mime] : [])];
  const copied = JSON.parse((await from.cliOk(args, { input: content })).text) as { peers: { status: string }[]; size: number };
  expect(copied.size).toBe(content.length);
  expect(copied.peers.map((p) => p.status)).toEqual(to.map(() => 'delivered'));
  for (const daemon of to) {
    const pasted = await daemon.cliOk(['paste']);
    expect(pasted.stdout.equals(content), `paste on ${daemon.home} returns the copied clip`).toBe(true);
  }
}

/** What `paste` returns now, or undefined when there is no clip. */
export async function pasteOf(daemon: TestDaemon): Promise<Buffer | undefined> {
  const result = await daemon.cli(['paste']);
  return result.code === 0 ? result.stdout : undefined;
}

/** A daemon is still alive and answering its control socket. */
export async function expectAlive(daemon: TestDaemon): Promise<void> {
  expect(daemon.proc.exitCode, `daemon ${daemon.home} exited:\n${daemon.stderrText}`).toBeNull();
  expect(daemon.proc.signalCode).toBeNull();
  const status = await daemon.status();
  expect(status.fingerprint).toMatch(/^SHA256:/);
}
