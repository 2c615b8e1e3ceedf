import { openSync, writeSync, closeSync } from 'node:fs';
import { collect, type IpcClient } from '../ipc/client.js';
import type { PasteListResponse } from '../ipc/schema.js';
import { fail } from '../core/errors.js';

/**
 * The most text one OSC 52 sequence carries here: 74,994 bytes are 99,992 in base64, under the
 * 100,000 that xterm (its default), tmux and several other terminals accept; longer ones are
 * dropped or cut by many terminals without a word, so clipsync refuses them instead.
 */
export const OSC52_MAX_TEXT_BYTES = 74_994;

/** The terminal sequence that sets the clipboard (`c`) to `text`; wrapped for tmux's passthrough when inside tmux. */
export function osc52Sequence(text: Buffer, env: NodeJS.ProcessEnv = process.env): string {
  const sequence = `\x1b]52;c;${text.toString('base64')}\x07`;
  if (env['TMUX'] !== undefined && env['TMUX'] !== '') {
    // tmux passes a DCS `tmux;` sequence on to the outer terminal, each ESC inside doubled
    // (it needs `set -g allow-passthrough on` from tmux 3.3).
    return `\x1bPtmux;${sequence.replaceAll('\x1b', '\x1b\x1b')}\x1b\\`;
  }
  return sequence;
}

/**
 * `clipsync paste --osc52`: the clip's text, written as OSC 52 to this terminal, so the
 * terminal the user sits at (maybe across ssh) puts it on its own clipboard. Written to the
 * controlling terminal when there is one (so it works inside `$(…)` and pipes), else stdout.
 */
export async function pasteOsc52(client: IpcClient, mime: string | undefined): Promise<void> {
  const list = await client.json<PasteListResponse>({ method: 'GET', path: '/v1/paste', query: { list: '1' } });
  const format = mime ?? list.formats.find((f) => /^text\//i.test(f.mime))?.mime;
  if (format === undefined || !/^text\//i.test(format)) {
    throw fail('CLIPSYNC_ERR_NOTHING_TO_PASTE', `the clip has no text to send to the terminal (its formats: ${list.formats.map((f) => f.mime).join(', ')})`, {
      hint: 'OSC 52 carries text; use `clipsync paste --mime TYPE > FILE` for other formats',
    });
  }
  const text = await collect(await client.open({ method: 'GET', path: '/v1/paste', query: { mime: format } }));
  if (text.length > OSC52_MAX_TEXT_BYTES) {
    throw fail('CLIPSYNC_ERR_CLIP_TOO_LARGE', `the clip's text is ${text.length} bytes; an OSC 52 sequence carries at most ${OSC52_MAX_TEXT_BYTES} bytes of text in most terminals`, {
      hint: 'paste it with `clipsync paste` instead',
    });
  }
  writeToTerminal(osc52Sequence(text));
}

function writeToTerminal(sequence: string): void {
  if (!process.stdout.isTTY) {
    let fd: number | undefined;
    try {
      fd = openSync('/dev/tty', 'w');
    } catch {
      // No controlling terminal (a service, a test): stdout it is.
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, sequence);
      } finally {
        closeSync(fd);
      }
      return;
    }
  }
  process.stdout.write(sequence);
}
