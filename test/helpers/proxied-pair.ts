import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, trustedHomePair } from './daemon.js';
import { FaultProxy } from './fault-proxy.js';
import { waitFor } from './wait.js';

/** Config that makes reconnection quick in tests (the default backoff starts at 1 s). */
export const QUICK_RECONNECT = { backoffBaseMs: 100, backoffCapMs: 1000 };

export interface ProxiedPair {
  /** The receiving side in most tests: listens on a Unix socket inside its home. */
  a: TestDaemon;
  /** Dials `a` through the proxy. */
  b: TestDaemon;
  proxy: FaultProxy;
  /** `a`'s listen address, stable across restarts of `a`. */
  listenA: string;
  restartA(): Promise<TestDaemon>;
  stop(): Promise<void>;
}

/**
 * alpha and beta trusting each other, with beta dialing alpha through a fault-injecting
 * proxy. alpha listens on a Unix socket in its home, so it can be killed and restarted at the
 * same address while the proxy stays put. `beforeDial` may switch faults on before beta
 * starts, so that they apply to the connection from its first byte.
 */
export async function startProxiedPair(
  dir: string,
  options: { configA?: Record<string, unknown>; configB?: Record<string, unknown>; beforeDial?: (proxy: FaultProxy) => void } = {},
): Promise<ProxiedPair> {
  const { homeA, homeB } = await trustedHomePair(dir, { ...QUICK_RECONNECT, ...options.configA }, { ...QUICK_RECONNECT, ...options.configB });
  const listenA = `unix:${homeA}/peer.sock`;
  const pair: ProxiedPair = {
    a: await TestDaemon.start({ home: homeA, listen: [listenA] }),
    b: undefined as unknown as TestDaemon,
    proxy: await FaultProxy.start(listenA, { listenPath: join(dir, 'proxy.sock') }),
    listenA,
    async restartA() {
      pair.a = await TestDaemon.start({ home: homeA, listen: [listenA] });
      return pair.a;
    },
    async stop() {
      await Promise.all([pair.a?.stop(), pair.b?.stop()]);
      await pair.proxy?.close();
    },
  };
  options.beforeDial?.(pair.proxy);
  pair.b = await TestDaemon.start({ home: homeB, listen: [], peers: [pair.proxy.address] });
  await Promise.all([pair.a.waitConnected(1), pair.b.waitConnected(1)]);
  return pair;
}

/** A file of random bytes (incompressible, like most large clips) and its SHA-256. */
export function randomClipFile(dir: string, name: string, size: number): { path: string; sha256: string; size: number } {
  const data = randomBytes(size);
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, sha256: sha256(data), size };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One transfer as `transfers --json` shows it. */
export interface TransferJson {
  id: string;
  direction: 'send' | 'receive';
  peer: string;
  name: string;
  bytes: number;
  total: number;
  rate: number;
  etaMs: number | null;
  resumedFrom: number;
}

export async function transfersOf(daemon: TestDaemon): Promise<TransferJson[]> {
  return JSON.parse((await daemon.cliOk(['transfers', '--json'])).text) as TransferJson[];
}

/** Waits until `daemon` has no transfer in flight. */
export function waitNoTransfers(daemon: TestDaemon): Promise<true> {
  return waitFor(async () => (await transfersOf(daemon)).length === 0 || undefined, { what: `no transfers on ${daemon.home}`, timeoutMs: 60_000 });
}

/** The SHA-256 of what `paste` prints (a large clip is compared by hash, not printed in a diff). */
export async function pastedSha(daemon: TestDaemon): Promise<string> {
  return sha256((await daemon.cliOk(['paste'])).stdout);
}
