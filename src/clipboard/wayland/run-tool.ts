import { spawn, type ChildProcess } from 'node:child_process';
import { Timer, type Clock } from '../../core/clock.js';
import { fail } from '../../core/errors.js';

/**
 * Runs one short-lived wl-clipboard command with a deadline and a cap on its output.
 *
 * Every child runs in a process group of its own (`detached`) and is killed as a group: wl-paste
 * forks a `cat` that copies the owner's pipe to our stdout, and killing only wl-paste would leave
 * that `cat` blocked on a frozen owner, holding our pipe open. The group id cannot be reused while
 * any member is alive, and we only signal it while our pipes (held by the members) are open.
 */

export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout passed `maxStdoutBytes`: the process was killed and `stdout` is incomplete. */
  overCap: boolean;
}

export interface ToolOptions {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  deadlineMs: number;
  maxStdoutBytes: number;
}

export const WL_CLIPBOARD_HINT = 'install wl-clipboard (apt-get install wl-clipboard)';

/** Kills a child's whole process group; quiet when it is already gone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: every member has exited already.
  }
}

/** The error for a command that is not installed, or the spawn error itself. */
export function spawnError(command: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'ENOENT') return fail('CLIPSYNC_ERR_CLIPBOARD', `${command} is not installed`, { hint: WL_CLIPBOARD_HINT });
  return fail('CLIPSYNC_ERR_CLIPBOARD', `could not run ${command}: ${err.message}`, { cause: err });
}

export function runTool(command: string, args: string[], options: ToolOptions): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let overCap = false;
    let stderr = '';
    let timedOut = false;
    let spawnFailed: Error | undefined;

    const deadline = new Timer(options.clock, () => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    });
    deadline.set(options.deadlineMs);

    child.stdout!.on('data', (chunk: Buffer) => {
      if (overCap) return;
      size += chunk.length;
      if (size > options.maxStdoutBytes) {
        // Too large to travel: stop the owner's transfer now instead of reading it all.
        overCap = true;
        chunks.length = 0;
        killGroup(child, 'SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      // Only the tail matters for a message; never let a chatty tool grow memory.
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnFailed = spawnError(command, err);
      // A process that never started has no pipes to close; settle now.
      if (child.pid === undefined) {
        deadline.clear();
        reject(spawnFailed);
      }
    });
    // 'close', not 'exit': the pipes are closed, so the whole group (wl-paste's `cat` too) is gone.
    child.once('close', (code) => {
      deadline.clear();
      if (spawnFailed) return reject(spawnFailed);
      if (timedOut) {
        return reject(fail('CLIPSYNC_ERR_CLIPBOARD', `the clipboard owner did not answer within ${options.deadlineMs} ms`));
      }
      resolve({ code, stdout: Buffer.concat(chunks), stderr, overCap });
    });
  });
}
