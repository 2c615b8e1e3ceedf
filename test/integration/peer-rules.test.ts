import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon, startTrustedPair } from '../helpers/daemon.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

interface CopyResult {
  peers: { name: string; status: string; detail?: string }[];
}

async function copyWait(daemon: TestDaemon, content: string, mime?: string): Promise<CopyResult> {
  return JSON.parse((await daemon.cliOk(['copy', '--wait', '--json', ...(mime ? ['--mime', mime] : [])], { input: content })).text) as CopyResult;
}

/** `config set` on a running daemon: what it printed. */
async function configSet(daemon: TestDaemon, key: string, value: string): Promise<string> {
  return (await daemon.cliOk(['config', 'set', key, value])).text;
}

describe('per-peer rules', () => {
  let dir: string;
  let a: TestDaemon;
  let b: TestDaemon;
  let fpA: string;

  beforeAll(async () => {
    dir = makeTempDir();
    // alpha never sends to beta (by its trust-store name); beta takes anything from alpha.
    ({ a, b } = await startTrustedPair(dir, { configA: { peerRules: { beta: { send: false } } } }));
    fpA = (await a.status()).fingerprint;
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    removeDir(dir);
  });

  it('send: false skips the peer (not a failure), and peers shows the rule', async () => {
    const result = await copyWait(a, 'not for beta');
    expect(result.peers).toEqual([expect.objectContaining({ name: 'beta', status: 'skipped', detail: 'not sent: peerRules "beta" has send: false' })]);
    expect((await b.cli(['paste'])).text).not.toBe('not for beta');
    // The other way is not ruled.
    expect((await copyWait(b, 'for alpha')).peers[0]!.status).toBe('delivered');
    expect((await a.cliOk(['paste'])).text).toBe('for alpha');
    const [peer] = (await a.peers()) as unknown as { rules: unknown }[];
    expect(peer!.rules).toEqual({ send: false, receive: true, formats: null, maxBytes: null, matched: 'beta' });
    expect((await a.cliOk(['peers'])).text).toMatch(/RULES[\s\S]*no send/);
  });

  it('applies a rule changed with config set at once', async () => {
    expect(await configSet(a, 'peerRules.beta.send', 'true')).toContain('the running daemon applied it');
    expect((await copyWait(a, 'now for beta')).peers[0]!.status).toBe('delivered');
    expect((await b.cliOk(['paste'])).text).toBe('now for beta');
  });

  it('receive: false (keyed by fingerprint) declines what the peer offers; its copy --wait says skipped', async () => {
    await configSet(b, `peerRules.${fpA}`, '{"receive": false}');
    const result = await copyWait(a, 'refused by beta');
    expect(result.peers[0]).toMatchObject({ status: 'skipped', detail: 'the receiver takes no clips from this peer (its peerRules receive: false)' });
    expect((await b.cliOk(['paste'])).text).toBe('now for beta');
    const [peer] = (await b.peers()) as unknown as { rules: { matched: string } }[];
    expect(peer!.rules.matched).toBe(fpA);
  });

  it('formats and maxBytes limit what travels, either way', async () => {
    await configSet(b, `peerRules.${fpA}`, '{"formats": ["image/*"]}');
    expect((await copyWait(a, 'text is not an image')).peers[0]).toMatchObject({ status: 'skipped', detail: expect.stringContaining("none of the clip's formats is allowed") });
    expect((await copyWait(a, 'PNG', 'image/png')).peers[0]!.status).toBe('delivered');
    await configSet(b, `peerRules.${fpA}`, '{"maxBytes": 10}');
    expect((await copyWait(a, 'twenty bytes of text')).peers[0]).toMatchObject({ status: 'skipped', detail: expect.stringContaining('over the receiver') });
    expect((await copyWait(a, 'ten bytes!')).peers[0]!.status).toBe('delivered');
    // The sender's own rule: only text/* to beta.
    await configSet(b, `peerRules.${fpA}`, 'null');
    await configSet(a, 'peerRules.beta', '{"formats": ["text/*"]}');
    expect((await copyWait(a, 'GIF', 'image/gif')).peers[0]).toMatchObject({ status: 'skipped', detail: expect.stringContaining('not sent: none of its formats (image/gif)') });
    expect((await copyWait(a, 'plain text')).peers[0]!.status).toBe('delivered');
    expect((await b.cliOk(['paste'])).text).toBe('plain text');
  });
});
