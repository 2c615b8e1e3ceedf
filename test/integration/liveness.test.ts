import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { startProxiedPair, type ProxiedPair } from '../helpers/proxied-pair.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

describe('round-trip time', () => {
  const latencyMs = 100;
  let dir: string;
  let pair: ProxiedPair;

  beforeAll(async () => {
    dir = makeTempDir();
    pair = await startProxiedPair(dir, {
      configA: { heartbeatIntervalMs: 2000 },
      // Beta's own pings count as signs of life on alpha and void the sample of alpha's ping
      // in flight. Both sides beat in step from the handshake, so with 2 × latency per round
      // trip beta's ping could land in every one of alpha's: beta pings once, at the start.
      configB: { heartbeatIntervalMs: 600_000 },
      // On before beta dials: every byte of the connection, each ping and pong, waits in the proxy.
      beforeDial: (proxy) => proxy.latency(latencyMs),
    });
  });

  afterAll(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  /** alpha's rttMs for beta, once measured. */
  async function rttOnAlpha(): Promise<number | undefined> {
    const peer = (await pair.a.peers()).find((p) => p.state === 'connected');
    return typeof peer?.rttMs === 'number' ? peer.rttMs : undefined;
  }

  it('is the time a heartbeat took to be answered, measured again by every heartbeat', async () => {
    // A ping waits latencyMs in the proxy, its pong as long again: no answer comes sooner.
    const first = await waitFor(rttOnAlpha, { what: 'rttMs on alpha' });
    expect(first).toBeGreaterThanOrEqual(2 * latencyMs);
    // Later heartbeats measure again: with the latency tripled, alpha's rttMs follows it up.
    pair.proxy.latency(3 * latencyMs);
    const later = await waitFor(async () => {
      const rtt = await rttOnAlpha();
      return rtt !== undefined && rtt >= 6 * latencyMs ? rtt : undefined;
    }, { what: `rttMs >= ${6 * latencyMs} on alpha after the latency went up` });
    expect(later).toBeGreaterThanOrEqual(6 * latencyMs);
  });
});

describe('heartbeats', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    ({ a, b } = await startTrustedPair(dir, { configA: { heartbeatIntervalMs: 500 }, configB: { heartbeatIntervalMs: 500 } }));
  });

  afterAll(async () => {
    if (b?.proc.pid !== undefined) process.kill(b.proc.pid, 'SIGCONT');
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('declares a frozen peer dead, and reconnects once it wakes up', async () => {
    // SIGSTOP freezes beta the way a sleeping laptop goes quiet: its kernel keeps the TCP
    // connection open, but nothing answers pings.
    process.kill(b.proc.pid!, 'SIGSTOP');
    await a.waitForLog((l) => l.msg === 'peer missed its heartbeat; closing', 'alpha noticing the frozen peer');
    const gone = await waitFor(async () => (await a.peers()).find((p) => p.state !== 'connected'), { what: 'beta not connected on alpha' });
    expect(gone.lastError).toMatch(/heartbeat/);
    process.kill(b.proc.pid!, 'SIGCONT');
    await a.waitConnected(1);
    await b.waitConnected(1);
    await b.cliOk(['copy', '--wait'], { input: 'after waking up' });
    expect((await a.cliOk(['paste'])).text).toBe('after waking up');
  });
});
