import type { Argv } from 'yargs';
import type { PauseInfo } from '../../sync/pause-state.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { describeWait, parseDuration } from '../duration.js';
import { printJson, printLine } from '../output.js';

/** `clipsync pause [--for D]` and `clipsync resume`. */
export function pauseCommands(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli
    .command(
      'pause',
      'Stop sending and applying clips (until `clipsync resume`, or for a while with --for)',
      (y) => y.option('for', { type: 'string', describe: 'Resume by itself after this long: 90s, 10m, 1h, 1h30m, or seconds' }).example('clipsync pause --for 10m', 'keep the next ten minutes of copies on this machine'),
      async (args) => {
        const seconds = args.for === undefined ? undefined : parseDuration(args.for);
        const { paused } = await clientFrom(args).json<{ paused: PauseInfo }>({ method: 'POST', path: '/v1/pause', query: { for: seconds?.toString() } });
        if (args.json === true) printJson({ paused });
        else printLine(`sync paused ${describePause(paused)}; copies made meanwhile stay on this machine`);
      },
    )
    .command(
      'resume',
      'Sync again after `clipsync pause`',
      (y) => y,
      async (args) => {
        const answer = await clientFrom(args).json<{ paused: null }>({ method: 'POST', path: '/v1/resume' });
        if (args.json === true) printJson(answer);
        else printLine('sync resumed');
      },
    );
}

/** "until 14:05:10 (in 10m)" or "until `clipsync resume`". */
export function describePause(paused: PauseInfo, now = Date.now()): string {
  if (paused.until === null) return 'until `clipsync resume`';
  const until = new Date(paused.until);
  return `until ${until.toLocaleTimeString()} (in ${describeWait(until.getTime() - now)})`;
}
