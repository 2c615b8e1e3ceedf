import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { fail } from '../../core/errors.js';
import { shellLine } from '../../service/command-line.js';
import { runCommand, runSteps, launchdUnreachable, systemdUnreachable, pathExists, StepFailed } from '../../service/run-steps.js';
import { chooseTarget, type TargetChoice } from '../../service/session-target.js';
import { planInstall, planUninstall, serviceFiles, type ServiceContext, type ServicePlatform, type Step } from '../../service/service-plan.js';
import { serviceStatus } from '../../service/service-status.js';
import type { SessionTarget } from '../../service/systemd-unit.js';
import type { GlobalArgs } from '../context.js';
import { printJson, printLine, usageError } from '../output.js';

interface ServiceArgs extends GlobalArgs {
  action: 'install' | 'uninstall' | 'status';
  'dry-run'?: boolean;
  tray?: boolean;
  target?: 'graphical-session' | 'default';
  platform?: ServicePlatform;
}

/** `clipsync service install|uninstall|status`: the daemon as a systemd user unit or a launchd agent. */
export function serviceCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'service <action>',
    'Install, remove or show the daemon as a login service (systemd user unit / launchd agent)',
    (y) =>
      y
        .positional('action', { choices: ['install', 'uninstall', 'status'] as const, describe: 'install: write, enable and start it; uninstall: stop and remove it; status: installed, enabled, running' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Print every file (with its content) and every command, and touch nothing' })
        .option('tray', { type: 'boolean', default: false, describe: 'install: also the tray icon (clipsync-tray.service; Linux)' })
        .option('target', { choices: ['graphical-session', 'default'] as const, describe: 'install (Linux): start with the desktop session or at login (default: detected)' })
        // For tests, and for preparing a file for another machine (with --dry-run).
        .option('platform', { choices: ['linux', 'darwin'] as const, hidden: true }),
    (args) => runService(args as unknown as ServiceArgs),
  );
}

const LOGS: Record<ServicePlatform, string> = {
  linux: 'journalctl --user -u clipsync -f',
  darwin: 'tail -f ~/Library/Logs/clipsync/clipsync.log',
};

async function runService(args: ServiceArgs): Promise<void> {
  const ctx = serviceContext(args);
  const dryRun = args['dry-run'] === true;
  if (ctx.platform !== process.platform && !dryRun) {
    throw usageError(`--platform ${ctx.platform} is not this machine (${process.platform}): only with --dry-run, to prepare files for another machine`);
  }
  if (args.action === 'status') return printStatus(ctx, args);
  if (args.tray === true && (args.action !== 'install' || ctx.platform === 'darwin')) {
    throw usageError(args.action !== 'install' ? '--tray goes with `service install` (uninstall removes the tray unit too)' : '--tray is for Linux desktops; on macOS use the SwiftBar/xbar plugin');
  }
  if (args.target !== undefined && (args.action !== 'install' || ctx.platform === 'darwin')) throw usageError('--target goes with `service install` on Linux');

  if (args.action === 'install') {
    const target = ctx.platform === 'linux' ? await pickTarget(args) : undefined;
    const steps = planInstall(ctx, { target: target ?? { target: 'default.target', reason: '' }, tray: args.tray === true });
    await carryOut('install', ctx, steps, args, target);
  } else {
    const steps = planUninstall(ctx, pathExists);
    if (steps.length === 0) {
      if (args.json === true) printJson(report('uninstall', ctx, steps, dryRun, undefined));
      else printLine(`clipsync service is not installed (no ${serviceFiles(ctx).daemon})`);
      return;
    }
    await carryOut('uninstall', ctx, steps, args, undefined);
  }
}

function serviceContext(args: ServiceArgs): ServiceContext {
  const home = args.home ?? process.env['CLIPSYNC_HOME'];
  const homeDir = homedir();
  const xdg = process.env['XDG_CONFIG_HOME'];
  return {
    platform: args.platform ?? hostPlatform(),
    installation: {
      nodePath: process.execPath,
      // This installation's CLI, found from this very module: not whatever `clipsync` is on PATH.
      entryPath: fileURLToPath(new URL('../main.js', import.meta.url)),
      ...(home === undefined || home === '' ? {} : { home: resolve(home) }),
    },
    homeDir,
    configHome: xdg !== undefined && isAbsolute(xdg) ? xdg : join(homeDir, '.config'),
    uid: process.getuid?.() ?? 0,
  };
}

function hostPlatform(): ServicePlatform {
  if (process.platform === 'linux' || process.platform === 'darwin') return process.platform;
  throw fail('CLIPSYNC_ERR_USAGE', `clipsync service supports Linux (systemd) and macOS (launchd), not ${process.platform}`, { hint: 'run `clipsync daemon` from your system’s own autostart' });
}

async function pickTarget(args: ServiceArgs): Promise<TargetChoice> {
  const forced = args.target === undefined ? undefined : (`${args.target}.target` as SessionTarget);
  let graphicalActive: boolean | undefined;
  if (forced === undefined) {
    const result = await runCommand(['systemctl', '--user', 'is-active', 'graphical-session.target']);
    graphicalActive = systemdUnreachable(result) ? undefined : result.stdout.trim() === 'active';
  }
  return chooseTarget({ env: process.env, graphicalActive, forced });
}

async function carryOut(action: 'install' | 'uninstall', ctx: ServiceContext, steps: Step[], args: ServiceArgs, target: TargetChoice | undefined): Promise<void> {
  const json = args.json === true;
  if (args['dry-run'] === true) {
    if (json) printJson(report(action, ctx, steps, true, target));
    else printDryRun(action, steps, target);
    return;
  }
  if (target !== undefined && !json) printLine(`target: ${target.target} (${target.reason})`);
  let outcome;
  try {
    outcome = await runSteps(steps, ctx.platform === 'linux' ? systemdUnreachable : launchdUnreachable);
  } catch (err) {
    if (err instanceof StepFailed) throw fail('CLIPSYNC_ERR_INTERNAL', err.message, { hint: action === 'install' ? `see \`clipsync service status\` and ${LOGS[ctx.platform]}` : undefined });
    throw err;
  }
  if (json) printJson({ ...report(action, ctx, steps, false, target), managerReachable: outcome.unreachable === undefined, skipped: outcome.unreachable?.skipped ?? [] });
  else {
    for (const path of outcome.written) printLine(`wrote ${path}`);
    for (const path of outcome.removed) printLine(`removed ${path}`);
  }
  const manager = ctx.platform === 'linux' ? 'the systemd user manager' : 'launchd';
  if (outcome.unreachable !== undefined) {
    const todo = outcome.unreachable.skipped.map(shellLine).join(' && ');
    if (action === 'install') {
      // Exit 1: the service is on disk but neither enabled nor running, which is what was asked.
      throw fail('CLIPSYNC_ERR_INTERNAL', `${manager} is not reachable (${outcome.unreachable.why}): the service is written but not enabled or started`, {
        hint: `in your desktop session run: ${todo}`,
      });
    }
    // The files are gone, which is all an unreachable manager leaves to do: exit 0, with a word.
    if (!json) printLine(`note: ${manager} is not reachable (${outcome.unreachable.why}); if clipsync still runs under it, run there: ${todo}`);
    return;
  }
  if (json) return;
  if (action === 'install') {
    printLine(`clipsync is installed, enabled and started.`);
    printLine(`logs:    ${LOGS[ctx.platform]}`);
    printLine(`status:  clipsync service status`);
  } else printLine('clipsync service stopped and removed');
}

function report(action: string, ctx: ServiceContext, steps: Step[], dryRun: boolean, target: TargetChoice | undefined): Record<string, unknown> {
  return {
    action,
    platform: ctx.platform,
    dryRun,
    ...(target === undefined ? {} : { target: target.target, targetReason: target.reason }),
    files: steps.flatMap((s) => (s.kind === 'write' ? [{ path: s.path, content: s.content }] : [])),
    removed: steps.flatMap((s) => (s.kind === 'remove' ? [s.path] : [])),
    commands: steps.flatMap((s) => (s.kind === 'run' ? [s.argv] : [])),
    logs: LOGS[ctx.platform],
  };
}

function printDryRun(action: string, steps: Step[], target: TargetChoice | undefined): void {
  printLine(`# clipsync service ${action} --dry-run: nothing below is written or run`);
  if (target !== undefined) printLine(`# target: ${target.target} (${target.reason})`);
  for (const step of steps) {
    if (step.kind === 'mkdir') printLine(`$ mkdir -p ${shellLine([step.path])}`);
    else if (step.kind === 'remove') printLine(`$ rm -f ${shellLine([step.path])}`);
    else if (step.kind === 'run') printLine(`$ ${shellLine(step.argv)}${step.mayFail === true ? '   # may fail: not loaded' : ''}`);
    else {
      printLine(`# file ${step.path}:`);
      process.stdout.write(step.content);
      printLine(`# end of ${step.path}`);
    }
  }
}

async function printStatus(ctx: ServiceContext, args: ServiceArgs): Promise<void> {
  const status = await serviceStatus(ctx);
  if (args.json === true) {
    printJson(status);
    return;
  }
  for (const s of status.services) {
    printLine(`${s.name}: ${s.installed ? `installed (${s.path})` : `not installed (no ${s.path})`}`);
    if (status.managerReachable) printLine(`  ${ctx.platform === 'linux' ? `enabled: ${s.enabled ?? '-'}, active: ${s.active ?? '-'}` : `${s.enabled ?? '-'}${s.active === null ? '' : `, ${s.active}`}`}`);
  }
  if (!status.managerReachable) printLine(`${ctx.platform === 'linux' ? 'systemd user manager' : 'launchd'} not reachable (${status.managerError ?? 'no answer'}): enabled/active unknown`);
  printLine(`logs: ${LOGS[ctx.platform]}`);
}
