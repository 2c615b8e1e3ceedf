import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `clipsync` command as package.json's `bin` installs it. */
export const CLI_ENTRY = fileURLToPath(new URL('../../bin/clipsync.cjs', import.meta.url));

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8 text. */
  text: string;
}

/** Runs the built `clipsync` CLI as a user would, with optional stdin. */
export function runCli(args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout, stderr: Buffer.concat(err).toString('utf8'), text: stdout.toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // the CLI may exit before reading all input
    child.stdin.end(options.input ?? '');
  });
}

/** Like runCli but fails the test with the CLI's stderr when the exit code is not 0. */
export async function runCliOk(args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const result = await runCli(args, options);
  if (result.code !== 0) throw new Error(`clipsync ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}
