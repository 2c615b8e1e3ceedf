import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../src/core/config/paths.js';
import { IpcClient } from '../../src/ipc/client.js';
import type { CopyResponse, StatusResponse } from '../../src/ipc/schema.js';
import { TestDaemon, initHome, trust } from '../helpers/daemon.js';
import { Prng, seedFrom } from '../helpers/prng.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A full mesh of three daemons on the memory clipboard, and 1,000 copies made at random on
 * all three, in overlapping bursts. Whatever the interleaving, every daemon must end with the
 * same clip (the newest by the hybrid clock), apply each clip at most once, and never receive
 * back a clip it made itself (no echo, no relay).
 */
const COPIES = 1000;
const BURST = 8;

describe('three daemons, 1,000 random copies', () => {
  let dir: string;
  const daemons: TestDaemon[] = [];
  const clients: IpcClient[] = [];

  beforeAll(async () => {
    dir = makeTempDir();
    const homes = ['one', 'two', 'three'].map((n) => join(dir, n));
    await Promise.all(homes.map((home, i) => initHome(home, ['one', 'two', 'three'][i]!)));
    for (const a of homes) for (const b of homes) if (a !== b) await trust(a, b);
    const first = await TestDaemon.start({ home: homes[0]!, listen: ['tcp://127.0.0.1:0'] });
    const second = await TestDaemon.start({ home: homes[1]!, listen: ['tcp://127.0.0.1:0'], peers: [await first.tcpAddress()] });
    const third = await TestDaemon.start({ home: homes[2]!, listen: [], peers: [await first.tcpAddress(), await second.tcpAddress()] });
    daemons.push(first, second, third);
    await Promise.all(daemons.map((d) => d.waitConnected(2)));
    for (const home of homes) clients.push(new IpcClient(resolvePaths(home).socketPath));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    removeDir(dir);
  });

  it('converges on the newest copy everywhere, each clip applied once, none echoed', async () => {
    const prng = new Prng(seedFrom('CLIPSYNC_CONVERGENCE_SEED'));
    const made = new Map<string, number>(); // clip id → index of the daemon that made it
    for (let start = 0; start < COPIES; start += BURST) {
      const burst = Array.from({ length: Math.min(BURST, COPIES - start) }, (_, k) => {
        const who = prng.int(0, daemons.length - 1);
        const text = `copy ${start + k} on ${who}: ${prng.int(0, 1e9)}`;
        return clients[who]!.json<CopyResponse>({ method: 'POST', path: '/v1/copy', body: Buffer.from(text) }).then((r) => made.set(r.id, who));
      });
      await Promise.all(burst);
    }
    const statuses = async (): Promise<StatusResponse[]> => Promise.all(clients.map((c) => c.json<StatusResponse>({ method: 'GET', path: '/v1/status' })));
    const final = await waitFor(
      async () => {
        const s = await statuses();
        const ids = new Set(s.map((x) => x.clip?.id));
        return ids.size === 1 && s[0]!.clip !== null ? s : undefined;
      },
      { what: 'all three daemons on the same clip', timeoutMs: 120_000 },
    );
    const winner = final[0]!.clip!;
    expect(made.has(winner.id)).toBe(true);

    for (const [i, daemon] of daemons.entries()) {
      const received = daemon.logs.filter((l) => l.msg === 'clip received');
      const ids = received.map((l) => String(l['clip']));
      expect(new Set(ids).size, `daemon ${i} applied a clip twice`).toBe(ids.length);
      const own = received.filter((l) => l['origin'] === final[i]!.fingerprint);
      expect(own, `daemon ${i} received its own copy back`).toEqual([]);
    }
  }, 600_000);
});
