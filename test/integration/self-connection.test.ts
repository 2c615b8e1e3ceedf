import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TestDaemon, initHome } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

describe('a daemon dialing itself', () => {
  const dir = makeTempDir();
  let daemon: TestDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
    removeDir(dir);
  });

  it('refuses its own key even through another address (an alias), and never counts it as a peer', async () => {
    const home = join(dir, 'solo');
    await initHome(home, 'solo');
    const own = `unix:${home}/peer.sock`;
    // The daemon trusts nothing but is told to dial its own listener under another name.
    daemon = await TestDaemon.start({ home, listen: [own, 'tcp://127.0.0.1:0'], peers: [own] });
    const refused = await daemon.waitForLog((l) => l['code'] === 4006, 'the self-connection refusal');
    expect(String(refused['reason'] ?? refused.msg)).toMatch(/own key|self|itself/i);
    const entry = await waitFor(async () => (await daemon!.peers()).find((p) => p.address === own && p.state === 'refused'), {
      what: 'the alias listed as refused',
    });
    expect(entry.lastError).toMatch(/self/i);
    expect(daemon.logs.filter((l) => l.msg === 'peer connected')).toEqual([]);
    expect((await daemon.status()).peers.connected).toBe(0);
  });
});
