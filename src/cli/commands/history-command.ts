import type { Argv } from 'yargs';
import { fail } from '../../core/errors.js';
import type { HistoryItem } from '../../sync/clip-history.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { describeWait } from '../duration.js';
import { printJson, printLine, printList } from '../output.js';
import { formatBytes } from '../progress-bar.js';

/** `clipsync history`, `history get N`, `history clear`. */
export function historyCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'history [action] [n]',
    'List the last clips (newest first); `history get N` makes clip N current again, `history clear` forgets them',
    (y) =>
      y
        .positional('action', { type: 'string', choices: ['get', 'clear'], describe: 'get: put clip N back on the clipboard and send it; clear: forget every clip' })
        .positional('n', { type: 'string', describe: 'With get: the number `clipsync history` shows (1 is the newest)' })
        .example('clipsync history', 'the last clips, with a preview of each')
        .example('clipsync history get 3', 'copy the third newest clip again'),
    async (args) => {
      const client = clientFrom(args);
      if (args.action === 'clear') {
        if (args.n !== undefined) throw fail('CLIPSYNC_ERR_USAGE', '`history clear` takes no number', { hint: 'clipsync history clear' });
        const answer = await client.json<{ cleared: number }>({ method: 'POST', path: '/v1/history/clear' });
        if (args.json === true) printJson(answer);
        else printLine(`history cleared (${answer.cleared} clip${answer.cleared === 1 ? '' : 's'} forgotten)`);
        return;
      }
      if (args.action === 'get') {
        if (args.n === undefined || !/^[1-9]\d*$/.test(args.n)) {
          throw fail('CLIPSYNC_ERR_USAGE', args.n === undefined ? '`history get` needs the number of a clip' : `"${args.n}" is not a clip number`, { hint: 'clipsync history lists them; 1 is the newest' });
        }
        const item = await client.json<HistoryItem>({ method: 'POST', path: '/v1/history/get', query: { n: args.n } });
        if (args.json === true) printJson(item);
        else printLine(`clip ${args.n} is the current clip again (${formatBytes(item.size)} ${item.mime})`);
        return;
      }
      if (args.n !== undefined) throw fail('CLIPSYNC_ERR_USAGE', `unexpected "${args.n}"`, { hint: 'clipsync history get N puts clip N back' });
      const items = await client.json<HistoryItem[]>({ method: 'GET', path: '/v1/history' });
      const now = Date.now();
      printList(items, {
        json: args.json,
        empty: 'no clips in the history yet',
        headers: ['N', 'AGE', 'SIZE', 'MIME', 'FROM', 'PREVIEW'],
        row: (item) => [
          String(item.n),
          describeWait(now - Date.parse(item.copiedAt)),
          formatBytes(item.size),
          item.mime,
          item.originName === null ? 'here' : item.originName || item.origin.slice(0, 19),
          item.local ? item.preview : `(not fetched) ${item.preview}`.trimEnd(),
        ],
      });
    },
  );
}
