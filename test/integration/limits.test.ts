import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

describe('a clip over the receiver’s limit', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;

  beforeAll(async () => {
    dir = makeTempDir();
    // alpha accepts clips up to 64 KiB; beta accepts the default.
    ({ a, b } = await startTrustedPair(dir, { configA: { maxClipBytes: 65_536 } }));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('is refused with a message that names the peer and the limit, logged on both sides, and nothing changes', async () => {
    await b.cliOk(['copy', '--wait'], { input: 'small enough' });
    expect((await a.cliOk(['paste'])).text).toBe('small enough');

    const result = await b.cli(['copy', '--wait'], { input: Buffer.alloc(100_000, 0x61) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not delivered to alpha/);
    expect(result.stderr).toMatch(/over 65536, the receiver's limit/);
    await a.waitForLog((l) => l.msg === 'refused an oversized clip' && l['size'] === 100_000, 'alpha logging the refusal');
    await b.waitForLog((l) => l.msg === 'peer refused a clip', 'beta logging the refusal');
    expect((await a.cliOk(['paste'])).text).toBe('small enough');
    // The connection survives: the next clip that fits goes through.
    await b.cliOk(['copy', '--wait'], { input: 'fits again' });
    expect((await a.cliOk(['paste'])).text).toBe('fits again');
  });
});
