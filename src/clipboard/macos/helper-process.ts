import { spawn, type ChildProcess } from 'node:child_process';
import { Timer, type Clock } from '../../core/clock.js';
import { fail, messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { decodeHelperLine, encodeRequest, LineSplitter, type HelperEvent, type HelperReply, type HelperRequest } from './macos-protocol.js';
import type { HelperCommand } from './pasteboard-helper.js';

/** A request without its id: the process numbers them. */
type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;
export type RequestBody = WithoutId<HelperRequest>;
export type OkReply = Extract<HelperReply, { ok: true }>;

interface Pending {
  resolve(reply: OkReply): void;
  reject(err: Error): void;
  timer: Timer;
  ms: number;
}

const HINT = 'clipsync restarts the pasteboard helper by itself; if this repeats, see the daemon log';

/**
 * One run of the pasteboard helper: numbers requests, matches replies to them, and holds each to
 * a deadline. It never restarts itself; when it dies (or is killed for missing a deadline) it
 * rejects everything in flight and calls `onExit` once, and the backend decides what comes next.
 */
export class HelperProcess {
  /** The helper's changeCount when it said it was ready. */
  readonly ready: Promise<number>;
  private readonly child: ChildProcess;
  private readonly splitter = new LineSplitter();
  private readonly pending = new Map<number, Pending>();
  private readonly readyTimer: Timer;
  private nextId = 1;
  private dead = false;
  private stderrTail = '';
  private settleReady!: { resolve(count: number): void; reject(err: Error): void };

  constructor(
    command: HelperCommand,
    private readonly handlers: { onEvent(event: HelperEvent): void; onExit(why: string): void },
    private readonly clock: Clock,
    private readonly log: Logger,
    startDeadlineMs: number,
  ) {
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => undefined); // the backend may not be waiting (a restart); onExit says it
    this.readyTimer = new Timer(clock, () => this.kill(`the pasteboard helper did not start within ${startDeadlineMs} ms`));
    this.readyTimer.set(startDeadlineMs);
    this.child = spawn(command.command, command.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (err) => this.kill(`the pasteboard helper could not run: ${messageOf(err)}`));
    // 'close', not 'exit': by then stdout and stderr are drained, so late replies and the error are in.
    this.child.on('close', (code, signal) => this.kill(`the pasteboard helper exited (${signal ?? `code ${code}`})${this.tail()}`));
    this.child.stdin!.on('error', () => undefined); // EPIPE when it died: 'exit' reports that
    this.child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      // osascript prints script errors here; keep the end for the message when it dies.
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-1000);
      this.log.debug({ stderr: chunk.toString('utf8').trim() }, 'pasteboard helper stderr');
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Sends one request; rejects CLIPSYNC_ERR_CLIPBOARD on an error reply, the deadline, or death. */
  request(body: RequestBody, deadlineMs: number): Promise<OkReply> {
    if (this.dead) return Promise.reject(fail('CLIPSYNC_ERR_CLIPBOARD', 'the pasteboard helper is not running', { hint: HINT }));
    const id = this.nextId++;
    return new Promise<OkReply>((resolve, reject) => {
      // A helper that misses a deadline is taken for frozen: it is killed, and so is everything
      // else it was asked, since nothing it says afterwards could be trusted to be current.
      const timer = new Timer(this.clock, () => this.kill(`the pasteboard helper did not answer within ${deadlineMs} ms`));
      this.pending.set(id, { resolve, reject, timer, ms: deadlineMs });
      timer.set(deadlineMs);
      this.child.stdin!.write(encodeRequest({ id, ...body } as HelperRequest));
    });
  }

  /** Kills the helper (idempotent); everything in flight rejects with `why`. */
  kill(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.readyTimer.clear();
    this.child.kill('SIGKILL');
    const err = fail('CLIPSYNC_ERR_CLIPBOARD', why, { hint: HINT });
    this.settleReady.reject(err);
    for (const p of this.pending.values()) {
      p.timer.clear();
      p.reject(err);
    }
    this.pending.clear();
    this.handlers.onExit(why);
  }

  private onStdout(chunk: Buffer): void {
    if (this.dead) return;
    // Output is progress: a large reply may take longer than the deadline to stream, and a
    // frozen helper sends nothing, so each chunk gives the requests in flight their time again.
    for (const p of this.pending.values()) p.timer.set(p.ms);
    try {
      for (const line of this.splitter.push(chunk)) this.onLine(line);
    } catch (err) {
      this.kill(messageOf(err));
    }
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    const message = decodeHelperLine(line);
    if ('event' in message) {
      if (message.event === 'ready') {
        this.readyTimer.clear();
        this.settleReady.resolve(message.changeCount);
      }
      this.handlers.onEvent(message);
      return;
    }
    const p = this.pending.get(message.id);
    if (p === undefined) throw fail('CLIPSYNC_ERR_CLIPBOARD', `the pasteboard helper answered request ${message.id}, which nobody asked`);
    this.pending.delete(message.id);
    p.timer.clear();
    if (message.ok) p.resolve(message);
    else p.reject(fail('CLIPSYNC_ERR_CLIPBOARD', `the pasteboard helper failed: ${message.error}`, { hint: HINT }));
  }

  private tail(): string {
    const last = this.stderrTail.trim().split('\n').pop();
    return last ? `: ${last}` : '';
  }
}
