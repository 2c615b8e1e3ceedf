import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { fail, isClipsyncError } from '../../core/errors.js';
import { parseAuthorizedKeys } from '../../identity/authorized-keys.js';
import { isSupportedKeyType, type PublicKey } from '../../identity/public-key.js';
import { loadConfig } from '../../core/config/config.js';
import { OwnTrustFile } from '../../identity/own-trust-file.js';
import type { IpcClient } from '../../ipc/client.js';
import { clientFrom, pathsFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine, printList } from '../output.js';

/** `clipsync trust`, `untrust`, `trusted`: the trust store, edited without the daemon. */
export function trustCommands(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli
    .command(
      'trust <key>',
      'Trust a key: an authorized_keys line, a .pub file, or an authorized_keys file (every key in it)',
      (y) =>
        y
          .positional('key', { type: 'string', demandOption: true, describe: 'KEY line or PATH' })
          .option('name', { type: 'string', describe: 'Name for the peer (default: the key comment)' }),
      async (args) => {
        const text = await keyText(args.key);
        const { keys, warnings } = parseAuthorizedKeys(text);
        for (const w of warnings) process.stderr.write(`clipsync: line ${w.lineNumber}: ${w.message}\n`);
        if (keys.length === 0) throw fail('CLIPSYNC_ERR_TRUST', 'no usable public key found', { hint: 'pass an authorized_keys line (`ssh-ed25519 AAAA… name`) or the path of a .pub file' });
        if (args.name !== undefined && keys.length > 1) throw fail('CLIPSYNC_ERR_USAGE', `--name needs a single key, but ${keys.length} were given`);
        const store = new OwnTrustFile(pathsFrom(args).trustFile);
        const { added, updated } = await store.add(keys.map((k) => ({ key: k.key, name: args.name ?? k.name })));
        await notifyDaemon(clientFrom(args));
        if (args.json) {
          printJson({ added: added.map(brief), updated: updated.map(brief), warnings });
          return;
        }
        for (const k of added) printLine(`trusted ${k.name || '(unnamed)'} ${k.fingerprint}`);
        for (const k of updated) printLine(`renamed ${k.fingerprint} to ${k.name}`);
        if (added.length === 0 && updated.length === 0) printLine('already trusted; nothing changed');
      },
    )
    .command(
      'untrust <key>',
      'Stop trusting a key, by fingerprint or name; a connected peer is disconnected at once',
      (y) => y.positional('key', { type: 'string', demandOption: true, describe: 'FINGERPRINT or NAME' }),
      async (args) => {
        const store = new OwnTrustFile(pathsFrom(args).trustFile);
        const removed = await store.remove(args.key);
        if (removed.length === 0) {
          const elsewhere = (await trustFileKeys(args)).find((k) => k.fingerprint === args.key || k.name === args.key);
          if (elsewhere !== undefined) {
            throw fail('CLIPSYNC_ERR_TRUST', `"${args.key}" is trusted through ${elsewhere.file} (listed in trustFiles), which clipsync does not edit`, {
              hint: `remove its line from ${elsewhere.file}; the daemon notices within a second`,
            });
          }
          throw fail('CLIPSYNC_ERR_TRUST', `no trusted key matches "${args.key}"`, { hint: 'see `clipsync trusted`' });
        }
        await notifyDaemon(clientFrom(args));
        if (args.json) printJson({ removed: removed.map(brief) });
        else for (const k of removed) printLine(`untrusted ${k.name || '(unnamed)'} ${k.fingerprint}`);
      },
    )
    .command(
      'trusted',
      'List trusted keys',
      (y) => y,
      async (args) => {
        const store = new OwnTrustFile(pathsFrom(args).trustFile);
        const { keys, warnings } = await store.read();
        for (const w of warnings) process.stderr.write(`clipsync: trusted_keys line ${w.lineNumber}: ${w.message}\n`);
        const all = [
          ...keys.map((k) => ({ name: k.name, fingerprint: k.fingerprint, key: k.key, file: store.file })),
          ...(await trustFileKeys(args)).filter((k) => !keys.some((own) => own.fingerprint === k.fingerprint)),
        ];
        printList(all, {
          json: args.json,
          empty: 'no trusted keys yet; add one with `clipsync trust KEY|PATH`',
          headers: ['NAME', 'FINGERPRINT', 'TYPE', 'SOURCE'],
          row: (k) => [k.name || '-', k.fingerprint, k.key.type, k.file],
          asJson: (k) => ({ ...brief(k), type: k.key.type, publicKey: k.key.toLine(k.name), source: k.file }),
        });
      },
    );
}

/** Keys trusted through the config's trustFiles (read-only to clipsync), with where each came from. */
async function trustFileKeys(args: GlobalArgs): Promise<{ name: string; fingerprint: string; key: PublicKey; file: string }[]> {
  const config = await loadConfig(pathsFrom(args));
  const out: { name: string; fingerprint: string; key: PublicKey; file: string }[] = [];
  for (const file of config.trustFiles) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const k of parseAuthorizedKeys(text).keys) {
      if (!out.some((o) => o.fingerprint === k.key.fingerprint)) out.push({ name: k.name, fingerprint: k.key.fingerprint, key: k.key, file });
    }
  }
  return out;
}

function brief(k: { name: string; fingerprint: string }): { name: string; fingerprint: string } {
  return { name: k.name, fingerprint: k.fingerprint };
}

/** The argument is a key line when it starts with a key type; otherwise a file to read. */
async function keyText(arg: string): Promise<string> {
  const first = arg.trim().split(/\s+/, 1)[0] ?? '';
  // `clipsync id` output pasted whole: its second line is the fingerprint, not a key.
  if (isSupportedKeyType(first) || /^(ssh-|ecdsa-|sk-)/.test(first)) return arg.replace(/^SHA256:\S+\s*$/gm, '');
  try {
    return await readFile(arg, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail('CLIPSYNC_ERR_TRUST', code === 'ENOENT' ? `"${arg}" is neither a public key line nor an existing file` : `cannot read ${arg} (${code ?? 'error'})`);
  }
}

/** Tells a running daemon to re-check trust (an untrusted peer is dropped now); fine if none runs. */
async function notifyDaemon(client: IpcClient): Promise<void> {
  try {
    await client.json({ method: 'POST', path: '/v1/trust/reload' });
  } catch (err) {
    if (!(isClipsyncError(err) && err.code === 'CLIPSYNC_ERR_NOT_RUNNING')) throw err;
  }
}
