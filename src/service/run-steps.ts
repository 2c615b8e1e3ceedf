import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { shellLine } from './command-line.js';
import type { Step } from './service-plan.js';

/** What running a command gave; `code` is -1 when it could not be run at all (ENOENT). */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCommand(argv: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: stderr !== '' ? stderr : err !== null && code === -1 ? err.message : '' });
    });
  });
}

/** A path that is there, a dangling symlink included (a `.wants` link to a removed unit). */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export interface StepsOutcome {
  /** The service manager could not be reached; the manager steps from this one on were not run. */
  unreachable?: { step: string[]; why: string; skipped: string[][] };
  /** Files written or removed, in order. */
  written: string[];
  removed: string[];
}

/**
 * Runs the plan in order. Files are always written and removed as planned; once a manager call
 * fails because the manager is out of reach (no user bus: a container, CI, `su`), the manager
 * calls left are skipped and reported, so the caller can say what to run later. Any other failure
 * of a manager call stops the run with its message.
 */
export async function runSteps(steps: readonly Step[], isUnreachable: (result: CommandResult) => boolean): Promise<StepsOutcome> {
  const outcome: StepsOutcome = { written: [], removed: [] };
  for (const step of steps) {
    if (step.kind === 'mkdir') await mkdir(step.path, { recursive: true });
    else if (step.kind === 'write') {
      await writeFile(step.path, step.content, { mode: 0o644 });
      outcome.written.push(step.path);
    } else if (step.kind === 'remove') {
      await rm(step.path, { force: true });
      outcome.removed.push(step.path);
    } else if (outcome.unreachable !== undefined) outcome.unreachable.skipped.push(step.argv);
    else {
      const result = await runCommand(step.argv);
      if (result.code === 0 || step.mayFail === true) continue;
      if (isUnreachable(result)) outcome.unreachable = { step: step.argv, why: firstLine(result.stderr), skipped: [step.argv] };
      else throw new StepFailed(step.argv, result);
    }
  }
  return outcome;
}

export class StepFailed extends Error {
  constructor(
    readonly argv: string[],
    readonly result: CommandResult,
  ) {
    super(`\`${shellLine(argv)}\` failed (exit ${result.code})${result.stderr.trim() === '' ? '' : `: ${firstLine(result.stderr)}`}`);
  }
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/**
 * systemctl --user without a user manager to talk to: "Failed to connect to bus" (no
 * XDG_RUNTIME_DIR, no bus socket), or systemctl not installed at all.
 */
export function systemdUnreachable(result: CommandResult): boolean {
  return result.code === -1 || /failed to connect to bus|no medium found|XDG_RUNTIME_DIR|DBUS_SESSION_BUS_ADDRESS|not been booted with systemd/i.test(result.stderr);
}

/** launchctl missing (not macOS) or no GUI domain for this user (an ssh session without a login). */
export function launchdUnreachable(result: CommandResult): boolean {
  return result.code === -1 || /could not find domain|domain does not support/i.test(result.stderr);
}
