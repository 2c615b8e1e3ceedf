import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

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

  it('shows the round-trip time of a connected peer', async () => {
    const peer = await waitFor(async () => (await a.peers()).find((p) => typeof p.rttMs === 'number'), { what: 'rttMs on alpha' });
    expect(peer.rttMs).toBeGreaterThanOrEqual(0);
    expect(peer.rttMs).toBeLessThan(500);
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
