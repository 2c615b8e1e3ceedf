import type { Clock } from '../../core/clock.js';
import { fail } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ClipboardSnapshot, ReadOptions, Representation, Selection } from '../backend.js';
import { parseTypeList, planReads } from './mime-types.js';
import { runTool } from './run-tool.js';
import { plainStderr, saysNothingCopied } from './wl-clipboard-output.js';

/**
 * Reads every accepted format of a selection with wl-paste: one `--list-types`, then one
 * `--type` per format. Each process has its own deadline, so a frozen owner costs at most one
 * deadline per read and leaves nothing behind (run-tool.ts kills the whole process group).
 */

/** Far more types than any real owner offers. */
const MAX_TYPE_LIST_BYTES = 64 * 1024;

export interface SelectionReaderOptions {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  log: Logger;
  deadlineMs: number;
}

export async function readSelection(
  selection: Selection,
  read: ReadOptions,
  options: SelectionReaderOptions,
): Promise<ClipboardSnapshot | null> {
  const primary = selection === 'primary' ? ['--primary'] : [];
  const tool = { env: options.env, clock: options.clock, deadlineMs: options.deadlineMs };

  const list = await runTool('wl-paste', [...primary, '--list-types'], { ...tool, maxStdoutBytes: MAX_TYPE_LIST_BYTES });
  if (list.overCap) throw fail('CLIPSYNC_ERR_CLIPBOARD', 'the clipboard owner offers an implausibly long list of types');
  if (list.code !== 0) {
    if (saysNothingCopied(list.stderr)) return null;
    throw fail('CLIPSYNC_ERR_CLIPBOARD', `wl-paste --list-types failed (${list.code}): ${plainStderr(list.stderr) || 'no message'}`);
  }

  const formats: Representation[] = [];
  for (const { mime, request } of planReads(parseTypeList(list.stdout.toString('utf8')), read.accept)) {
    const result = await runTool('wl-paste', [...primary, '--no-newline', '--type', request], {
      ...tool,
      maxStdoutBytes: read.maxFormatBytes,
    });
    if (result.overCap) {
      options.log.debug({ selection, mime, maxFormatBytes: read.maxFormatBytes }, 'format too large; skipped');
      continue;
    }
    if (result.code !== 0) {
      // The owner went away or changed between the type list and this read.
      if (saysNothingCopied(result.stderr)) return null;
      options.log.debug({ selection, mime, stderr: plainStderr(result.stderr) }, 'format no longer offered; skipped');
      continue;
    }
    formats.push({ mime, data: result.stdout });
  }
  return formats.length === 0 ? null : { selection, formats, sensitive: false };
}
