import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** A private X server for clipboard tests; Xvfb reports its display number on a pipe when ready. */
export class Xvfb {
  private constructor(
    private readonly proc: ChildProcess,
    readonly display: string,
  ) {}

  /**
   * Starts Xvfb on a free display number, or on `display` (`:N`) when given: a test that restarts
   * the X server needs the same number back. Either way Xvfb reports readiness on fd 3.
   */
  static start(display?: string): Promise<Xvfb> {
    return new Promise((resolve, reject) => {
      const fixed = display === undefined ? [] : [display];
      const proc = spawn('Xvfb', [...fixed, '-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      let number = '';
      const fd3 = proc.stdio[3] as NodeJS.ReadableStream;
      fd3.on('data', (d: Buffer) => {
        number += d.toString();
        if (number.includes('\n')) resolve(new Xvfb(proc, `:${number.trim()}`));
      });
      proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it was ready: ${stderr}`)));
    });
  }

  /**
   * Starts Xvfb on a free display number from 700 up, for a test that stops and restarts its X
   * server on the same number. `start()` hands out the lowest free numbers, so a restart there
   * races another test file starting its own server in the gap, which can take the number.
   * (200–699 is where system-clipboard.test.ts names a display before its server runs; :987 is
   * the display x11-backend.test.ts expects nothing to listen on.)
   */
  static async startOnHighDisplay(): Promise<Xvfb> {
    for (let attempt = 0; ; attempt++) {
      const n = 700 + Math.floor(Math.random() * 280);
      try {
        return await Xvfb.start(`:${n}`);
      } catch (err) {
        if (attempt >= 10) throw err; // Xvfb exits at once when the number is taken; try another
      }
    }
  }

  env(): NodeJS.ProcessEnv {
    return { DISPLAY: this.display, WAYLAND_DISPLAY: '' };
  }

  /** Sets the CLIPBOARD selection with xclip (which stays behind to serve it, as it does for users). */
  setClipboard(text: string): void {
    const result = spawnSync('xclip', ['-selection', 'clipboard', '-i'], {
      input: text,
      env: { ...process.env, ...this.env() },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    if (result.status !== 0) throw new Error(`xclip -i failed with ${result.status}`);
  }

  /** Reads the CLIPBOARD selection with xclip; undefined when nothing owns it. */
  readClipboard(): string | undefined {
    const result = spawnSync('xclip', ['-selection', 'clipboard', '-o'], {
      env: { ...process.env, ...this.env() },
      encoding: 'utf8',
      timeout: 5000,
    });
    return result.status === 0 ? result.stdout : undefined;
  }

  /** Stops (SIGSTOP) or resumes (SIGCONT) the X server itself: a wedged display. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.proc.kill(sig);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    await exited;
  }
}
