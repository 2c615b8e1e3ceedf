import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IpcClient } from '../../src/ipc/client.js';
import type { FetchEvent, PasteListResponse } from '../../src/ipc/schema.js';
import { CLI_ENTRY } from '../helpers/cli.js';
import { TestDaemon, trustedHomePair } from '../helpers/daemon.js';
import { randomClipFile, sha256 } from '../helpers/proxied-pair.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

/**
 * Lazy clips (issue 12) between real daemons with the default eagerLimitBytes (32 MiB): beta
 * dials alpha through a TCP relay that counts every byte, so "nothing large crosses the
 * network unless someone pastes it" is measured on the wire.
 */
describe('lazy clips between daemons', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;
  let proxy: TcpProxy;

  beforeEach(async () => {
    dir = makeTempDir();
    const { homeA, homeB } = await trustedHomePair(dir, {}, {});
    a = await TestDaemon.start({ home: homeA });
    proxy = await TcpProxy.start(await a.tcpAddress());
    b = await TestDaemon.start({ home: homeB, listen: [], peers: [proxy.address] });
    await Promise.all([a.waitConnected(1), b.waitConnected(1)]);
  });
  afterEach(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    removeDir(dir);
  });

  const wireBytes = (): number => proxy.captured().length;

  it('on a terminal, paste fetches an announced clip with a progress bar, then writes it out', async () => {
    const clip = randomClipFile(dir, 'tty.bin', 40 * MiB);
    await b.cliOk(['copy', clip.path, '--wait']);
    await a.waitForLog((l) => l.msg === 'clip announced', 'the announcement on alpha');
    const out = join(dir, 'pasted.bin');
    // script(1) gives the CLI a pseudo-terminal for stderr, as a person at a shell has; the
    // bytes go to a file, as `clipsync paste > file` would.
    const command = `${process.execPath} ${CLI_ENTRY} paste --home ${a.home} > ${out}`;
    const { stdout } = await promisify(execFile)('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' } });
    expect(stdout).toMatch(/\[#+\.*\] +\d+%/);
    expect(sha256(readFileSync(out))).toBe(clip.sha256);
  });

  it('a 64 MiB clip is not transferred until pasted (bytes counted on the wire), then arrives intact', async () => {
    const clip = randomClipFile(dir, 'big.bin', 64 * MiB);
    const copied = JSON.parse((await b.cliOk(['copy', clip.path, '--wait', '--json'])).text) as { id: string; peers: unknown[] };
    expect(copied.peers).toEqual([{ fingerprint: expect.any(String), name: 'alpha', status: 'delivered', detail: 'announced; the bytes move when it is pasted' }]);
    await a.waitForLog((l) => l.msg === 'clip announced', 'the announcement on alpha');
    // Frames, handshake and heartbeats only: a few KiB, nowhere near the clip.
    expect(wireBytes()).toBeLessThan(MiB);

    const status = await a.status();
    expect(status.clip).toMatchObject({ id: copied.id, size: clip.size, local: false });
    const list = JSON.parse((await a.cliOk(['paste', '--list', '--json'])).text) as PasteListResponse;
    expect(list).toMatchObject({ id: copied.id, size: clip.size, local: false });
    expect(wireBytes()).toBeLessThan(MiB); // listing its formats fetches nothing

    // Not a terminal: no progress bar, the paste route fetches before it answers.
    const pasted = await a.cliOk(['paste']);
    expect(pasted.stdout.length).toBe(clip.size);
    expect(sha256(pasted.stdout)).toBe(clip.sha256);
    expect(wireBytes()).toBeGreaterThanOrEqual(clip.size);
    expect((await a.status()).clip).toMatchObject({ id: copied.id, local: true });
    await b.waitForLog((l) => l.msg === 'a peer fetches the announced clip', 'the fetch served by beta');
  });

  it('POST /v1/fetch streams the transfer progress and ends with the result; a second paste moves nothing', async () => {
    const clip = randomClipFile(dir, 'big.bin', 40 * MiB);
    await b.cliOk(['copy', clip.path, '--wait']);
    await a.waitForLog((l) => l.msg === 'clip announced', 'the announcement on alpha');
    const lines: FetchEvent[] = [];
    for await (const line of new IpcClient(join(a.home, 'clipsync.sock')).lines<FetchEvent>({ method: 'POST', path: '/v1/fetch' })) lines.push(line);
    expect(lines.some((l) => l.event === 'progress' && l.transfer.direction === 'receive' && l.transfer.total === clip.size)).toBe(true);
    expect(lines.find((l) => l.event === 'end')).toMatchObject({ outcome: 'completed' });
    expect(lines.at(-1)).toMatchObject({ event: 'result', result: { size: clip.size } });
    const afterFetch = wireBytes();
    expect(afterFetch).toBeGreaterThanOrEqual(clip.size);
    expect(sha256((await a.cliOk(['paste'])).stdout)).toBe(clip.sha256);
    expect(wireBytes() - afterFetch).toBeLessThan(MiB);
  });

  it('paste of an announced clip whose peer is gone fails (exit 5), naming the peer to connect', async () => {
    const clip = randomClipFile(dir, 'big.bin', 40 * MiB);
    await b.cliOk(['copy', clip.path, '--wait']);
    await a.waitForLog((l) => l.msg === 'clip announced', 'the announcement on alpha');
    await b.stop();
    await a.waitConnected(0);
    const result = await a.cli(['paste']);
    expect(result.code).toBe(5);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/still on beta \(SHA256:[^)]+\), which is not connected/);
    expect(result.stderr).toContain('connect beta');
  });
});
