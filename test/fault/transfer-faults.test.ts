import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { pastedSha, randomClipFile, startProxiedPair, transfersOf, waitNoTransfers, type ProxiedPair } from '../helpers/proxied-pair.js';

const MiB = 1024 * 1024;

/**
 * Network faults between two real daemons, injected by a proxy on beta's connection to
 * alpha. Whatever happens, alpha's clip is at every moment either the old clip or the whole
 * new one — never a part — and once the network heals, the new one arrives.
 */
describe('transfers under network faults', () => {
  let dir: string;
  let pair: ProxiedPair;
  let n = 0;

  beforeAll(async () => {
    dir = makeTempDir();
    const config = { spoolThresholdBytes: MiB, heartbeatIntervalMs: 1000 };
    pair = await startProxiedPair(dir, { configA: config, configB: config });
  });
  afterAll(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  /** Copies a fresh clip on beta (in the background), runs `fault` once alpha is receiving it. */
  async function underFault(size: number, fault: () => Promise<void> | void, options: { slowFirst?: boolean } = {}): Promise<void> {
    const { a, b, proxy } = pair;
    const before = await pastedSha(a).catch(() => 'none');
    const clip = randomClipFile(dir, `clip-${++n}.bin`, size);
    if (options.slowFirst !== false) proxy.slowReader(2 * MiB, 'toServer');
    const copying = b.cli(['copy', clip.path, '--wait', '--timeout', '120']);
    await waitFor(async () => (await transfersOf(a)).some((t) => t.bytes > 0) || (await pastedSha(a)) === clip.sha256, {
      what: 'alpha receiving',
    });
    await fault();
    // Mid-fault: the old clip or the whole new one, nothing in between.
    expect([before, clip.sha256]).toContain(await pastedSha(a).catch(() => 'none'));
    proxy.heal();
    const result = await copying;
    expect(result.code, result.stderr).toBe(0);
    expect(await pastedSha(a)).toBe(clip.sha256);
    await waitNoTransfers(a);
    await waitNoTransfers(b);
  }

  it('survives the connection being dropped mid-transfer', async () => {
    await underFault(4 * MiB, () => pair.proxy.drop());
  });

  it('survives a stall that the heartbeat must detect', async () => {
    await underFault(4 * MiB, async () => {
      const before = pair.proxy.accepted;
      const seen = pair.b.logs.length;
      pair.proxy.stall();
      // Only a heartbeat notices a silent peer: wait for beta to declare alpha dead.
      await pair.b.waitForLog(
        (l) => l.msg === 'peer missed its heartbeat; closing' && pair.b.logs.indexOf(l) >= seen,
        'beta declaring alpha dead',
        60_000,
      );
      pair.proxy.resume();
      await waitFor(() => pair.proxy.accepted > before || undefined, { what: 'beta redialing' });
    });
  });

  it('survives a cut in the middle of a frame', async () => {
    await underFault(4 * MiB, () => pair.proxy.cutAfter(pair.proxy.bytes('toServer') + 100_003, 'toServer', { once: true }));
  });

  it('delivers through one-byte writes', async () => {
    await underFault(64 * 1024, () => pair.proxy.oneByteWrites(true), { slowFirst: false });
  });

  it('delivers through added latency', async () => {
    await underFault(3 * MiB, () => pair.proxy.latency(40));
  });

  it('delivers through a slow reader', async () => {
    await underFault(6 * MiB, () => pair.proxy.slowReader(1 * MiB));
  });

  it('keeps the connection on a link where one DATA message takes longer to arrive than the heartbeat interval', async () => {
    // 256 KiB/s: a 960 KiB message takes almost 4 s, against a 1 s heartbeat, and the pongs
    // wait behind the data. The bytes as they trickle in, and each side's own pings, show
    // that the peer is alive: the transfer must finish on the connection it started on.
    const connections = pair.proxy.accepted;
    await underFault(3 * MiB, () => pair.proxy.slowReader(256 * 1024));
    expect(pair.proxy.accepted).toBe(connections);
  });
});
