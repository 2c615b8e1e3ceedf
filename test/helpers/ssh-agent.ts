import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/**
 * A real `ssh-agent -D -a SOCK` child process (foreground, so the test owns and kills it).
 * Keys are added with the real `ssh-add`, its passphrase supplied by an askpass script, so
 * nothing ever reads a terminal.
 */
export class TestSshAgent {
  private readonly exited: Promise<void>;
  private output = '';

  private constructor(
    readonly socket: string,
    private readonly dir: string,
    private readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', () => resolve());
      proc.once('error', (err) => {
        this.output += `\n${err.message}`;
        resolve();
      });
    });
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
  }

  /** Starts an agent listening on `dir/name`; resolves once its socket exists. */
  static async start(dir: string, name = 'agent.sock'): Promise<TestSshAgent> {
    const socket = join(dir, name);
    const proc = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    const agent = new TestSshAgent(socket, dir, proc);
    let outcome: 'ready' | 'exited';
    try {
      outcome = await waitFor(() => (agent.gone ? 'exited' : existsSync(socket) && 'ready'), { what: `ssh-agent socket ${socket}`, intervalMs: 20 });
    } catch (err) {
      await agent.stop();
      throw err;
    }
    if (outcome === 'exited') throw new Error(`ssh-agent exited before creating ${socket}: ${agent.output}`);
    return agent;
  }

  /** Environment that points clipsync (or ssh-add) at this agent. */
  get env(): NodeJS.ProcessEnv {
    return { SSH_AUTH_SOCK: this.socket };
  }

  /** `ssh-add KEY`, the passphrase given by an askpass script (SSH_ASKPASS_REQUIRE=force). */
  add(keyPath: string, passphrase: string): Promise<void> {
    const askpass = join(this.dir, `askpass-${Math.random().toString(36).slice(2)}.sh`);
    // The passphrase goes through a single-quoted shell string.
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${passphrase.replace(/'/g, `'\\''`)}'\n`, { mode: 0o700 });
    return this.sshAdd([keyPath], { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' });
  }

  /** `ssh-add ARGS…` against this agent; rejects with ssh-add's output when it fails. */
  sshAdd(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('ssh-add', args, {
        env: { ...process.env, ...extraEnv, SSH_AUTH_SOCK: this.socket },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (text += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add ${args.join(' ')} exited ${code}: ${text}`))));
    });
  }

  private get gone(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null || this.proc.pid === undefined;
  }

  async stop(): Promise<void> {
    if (this.gone) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }
}
