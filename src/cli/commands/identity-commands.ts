import type { Argv } from 'yargs';
import { loadConfig } from '../../core/config/config.js';
import { initHome, loadConfiguredPublicKey } from '../../identity/setup.js';
import { pathsFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine } from '../output.js';

/** `clipsync init` and `clipsync id`: the local identity. */
export function identityCommands(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli
    .command(
      'init',
      'Create the clipsync home and an SSH identity (never replaces an existing one)',
      (y) =>
        y
          .option('name', { type: 'string', describe: 'Name shown to peers (default: host name)' })
          .option('identity', { type: 'string', describe: 'Use this existing OpenSSH private key (with --agent: its .pub) instead of creating one' })
          .option('agent', { type: 'boolean', describe: 'Sign with a key held in ssh-agent (SSH_AUTH_SOCK); the private key never leaves the agent' }),
      async (args) => {
        const paths = pathsFrom(args);
        const result = await initHome(paths, { name: args.name, identityPath: args.identity, agent: args.agent });
        const key = result.publicKey;
        if (args.json) {
          printJson({ created: result.created, name: result.config.name, fingerprint: key.fingerprint, identity: result.source, agent: result.config.agent, configDir: paths.configDir });
          return;
        }
        printLine(result.created ? `created identity ${key.fingerprint} (${result.source})` : `identity already exists: ${key.fingerprint} (${result.source})`);
        printLine(`name: ${result.config.name}`);
        printLine('next: give `clipsync id` output to your other machines and run `clipsync trust` with theirs');
      },
    )
    .command(
      'id',
      'Print this machine\'s public key (authorized_keys line) and fingerprint',
      (y) => y,
      async (args) => {
        const paths = pathsFrom(args);
        const config = await loadConfig(paths);
        const key = await loadConfiguredPublicKey(config);
        const publicKey = key.toLine(config.name);
        if (args.json) {
          printJson({ name: config.name, publicKey, fingerprint: key.fingerprint });
          return;
        }
        printLine(publicKey);
        printLine(key.fingerprint);
      },
    );
}
