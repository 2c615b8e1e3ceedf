import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Timer, type Clock } from '../../core/clock.js';
import { fail } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ClipToWrite, Selection } from '../backend.js';
import { isTextAlias, richestType, TEXT_MIME } from './mime-types.js';
import { killGroup, spawnError } from './run-tool.js';
import { plainStderr } from './wl-clipboard-output.js';

/**
 * Puts a clip on the Wayland clipboard with wl-copy, and keeps track of the wl-copy processes
 * that serve it afterwards.
 *
 * wl-copy is left to fork to the background as it does by default, because that fork is the
 * signal we need: the foreground process exits 0 right after the compositor confirmed the new
 * selection (wl-copy sets it, round-trips, then forks). The background copy keeps serving pastes
 * until another copy replaces ours, then exits by itself, so copies do not accumulate. Spawned
 * in a process group of its own, the background copy stays in that group, and it inherits our
 * stderr pipe: while that pipe is open it is alive, and `stop()` can kill it by the group id.
 *
 * wl-copy reads all of stdin into a temporary file before it offers anything; it exits through
 * `rm` of that file when replaced. When killed (stop) it cannot clean up: we point TMPDIR at a
 * private directory that stop() removes. wl-clipboard before 2.2 ignores TMPDIR and writes to
 * /tmp/wl-copy-buffer-XXXXXX (mode 0700), which a killed wl-copy leaves behind.
 */

interface Server {
  child: ChildProcess;
  selection: Selection;
  /** Resolves when every process of the group has closed our pipes (exited). */
  gone: Promise<void>;
}

export interface WlCopyWriterOptions {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  log: Logger;
  /** How long wl-copy may go without progress (taking bytes, or taking the selection). */
  deadlineMs: number;
}

export class WlCopyWriter {
  private readonly servers = new Set<Server>();
  private tmpDir: string | undefined;

  constructor(private readonly options: WlCopyWriterOptions) {}

  async write(clip: ClipToWrite): Promise<'written' | 'unsupported'> {
    const format = richestType(clip.formats);
    if (format === undefined) return 'unsupported';
    // Any name of plain text is offered as UTF-8 text; wl-copy adds the other aliases itself.
    const mime = isTextAlias(format.mime) ? TEXT_MIME : format.mime;
    const source = await format.open();
    await this.copy(clip.selection, mime, source);
    return 'written';
  }

  /** Kills every wl-copy this writer started that still runs, and removes its temporary files. */
  async stop(): Promise<void> {
    await Promise.all([...this.servers].map((server) => this.kill(server)));
    if (this.tmpDir !== undefined) rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = undefined;
  }

  private copy(selection: Selection, mime: string, source: Readable): Promise<void> {
    const { clock, deadlineMs } = this.options;
    return new Promise((resolve, reject) => {
      const args = [...(selection === 'primary' ? ['--primary'] : []), '--type', mime];
      const child = spawn('wl-copy', args, {
        env: { ...this.options.env, TMPDIR: this.privateTmpDir() },
        detached: true,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      const gone = new Promise<void>((done) => child.once('close', () => done()));
      const server: Server = { child, selection, gone };
      this.servers.add(server);
      void gone.then(() => this.servers.delete(server));

      let stderr = '';
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        deadline.clear();
        if (err) reject(err);
        else resolve();
      };
      const deadline = new Timer(clock, () => {
        killGroup(child, 'SIGKILL');
        source.destroy();
        settle(fail('CLIPSYNC_ERR_CLIPBOARD', `wl-copy did not take the selection within ${deadlineMs} ms`));
      });
      deadline.set(deadlineMs);
      // Progress re-arms the deadline: a large or lazily fetched clip may stream for long, but a
      // wl-copy that stops taking bytes (backpressure stops 'data') is caught.
      source.on('data', () => {
        if (!settled) deadline.set(deadlineMs);
      });

      child.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-2048);
      });
      child.once('error', (err) => {
        source.destroy();
        settle(spawnError('wl-copy', err));
      });
      pipeline(source, child.stdin!).catch((err: NodeJS.ErrnoException) => {
        // EPIPE: wl-copy exited early; its exit status and stderr say why.
        if (err.code === 'EPIPE' || settled) return;
        killGroup(child, 'SIGKILL');
        settle(fail('CLIPSYNC_ERR_CLIPBOARD', `could not stream the clip to wl-copy: ${err.message}`, { cause: err }));
      });
      child.once('exit', (code, signal) => {
        if (code !== 0) {
          settle(fail('CLIPSYNC_ERR_CLIPBOARD', `wl-copy failed (${code ?? signal}): ${plainStderr(stderr) || 'no message'}`));
          return;
        }
        // The background copy now serves the clip; it must not keep the daemon's event loop alive.
        child.unref();
        (child.stderr as Socket).unref();
        settle();
      });
    });
  }

  private async kill(server: Server): Promise<void> {
    killGroup(server.child, 'SIGTERM');
    const escalate = new Timer(this.options.clock, () => killGroup(server.child, 'SIGKILL'));
    escalate.set(2000);
    await server.gone;
    escalate.clear();
  }

  private privateTmpDir(): string {
    this.tmpDir ??= mkdtempSync(join(tmpdir(), 'clipsync-wl-copy-'));
    return this.tmpDir;
  }
}
