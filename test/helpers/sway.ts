import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/**
 * A private headless sway for Wayland clipboard tests. sway refuses to run as root, so it runs as
 * `nobody` in a runtime directory of its own (mode 0700, owned by nobody); the test's clients run
 * as root and reach it by the socket's absolute path in WAYLAND_DISPLAY. `restart()` kills sway
 * and starts it again in the same directory, where it gets the same socket name back.
 */
const NOBODY_UID = 65534;
const NOGROUP_GID = 65534;

export class Sway {
  private proc: ChildProcess | undefined;
  private output = '';

  private constructor(readonly dir: string) {}

  static async start(): Promise<Sway> {
    const dir = mkdtempSync(join('/tmp', 'cs-sway-'));
    chownSync(dir, NOBODY_UID, NOGROUP_GID);
    chmodSync(dir, 0o700);
    const sway = new Sway(dir);
    try {
      await sway.launch();
      return sway;
    } catch (err) {
      await sway.stop();
      throw err;
    }
  }

  get socket(): string {
    return join(this.dir, 'wayland-1');
  }

  /** The environment of a client of this compositor (and of no X server). */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, WAYLAND_DISPLAY: this.socket, DISPLAY: '' };
  }

  /** Kills sway (as a crash would: SIGKILL) and waits until it is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    this.output = '';
    const proc = spawn(
      'setpriv',
      [
        `--reuid=${NOBODY_UID}`,
        `--regid=${NOGROUP_GID}`,
        '--clear-groups',
        'env',
        '-i',
        `PATH=${process.env['PATH'] ?? '/usr/bin:/bin'}`,
        `XDG_RUNTIME_DIR=${this.dir}`,
        'WLR_BACKENDS=headless',
        'WLR_LIBINPUT_NO_DEVICES=1',
        'WLR_RENDERER=pixman',
        'sway',
        '-c',
        '/dev/null',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    const keep = (d: Buffer): void => void (this.output = (this.output + d.toString()).slice(-4000));
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let exited = false;
    proc.once('exit', () => (exited = true));
    // setpriv execs env, which execs sway: the pid stays sway's, so kill() hits sway itself.
    // Ready means accepting connections: after a kill the old socket file is still there.
    try {
      await waitFor(async () => exited || (existsSync(this.socket) && (await accepts(this.socket))), {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'sway to listen on its Wayland socket',
      });
    } catch (err) {
      await this.kill();
      throw err;
    }
    if (exited) {
      this.proc = undefined;
      throw new Error(`sway exited before it was ready: ${this.output}`);
    }
  }
}

function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}
