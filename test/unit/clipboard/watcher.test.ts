import { describe, expect, it } from 'vitest';
import type { ClipboardBackend, ClipboardContent } from '../../../src/clipboard/backend.js';
import { clipboardPort } from '../../../src/clipboard/clipboard-port.js';
import { ClipboardWatcher } from '../../../src/clipboard/watcher.js';
import type { InMemoryClip } from '../../../src/sync/clip.js';
import { FakeClock } from '../_support/fake-clock.js';
import { turns } from '../_support/event-loop.js';
import { captureLog } from '../_support/logger.js';

/** A clipboard whose content the test sets; reads can be made to fail or to hang. */
class ScriptedClipboard implements ClipboardBackend {
  readonly kind = 'system' as const;
  content: ClipboardContent | null = null;
  failing: Error | undefined;
  reads = 0;
  async read(): Promise<ClipboardContent | null> {
    this.reads++;
    if (this.failing !== undefined) throw this.failing;
    return this.content;
  }
  async write(clip: InMemoryClip): Promise<'written'> {
    this.content = { data: clip.data, mime: clip.mime };
    return 'written';
  }
}

const text = (s: string): ClipboardContent => ({ data: Buffer.from(s), mime: 'text/plain;charset=utf-8' });
function setup() {
  const clock = new FakeClock();
  const backend = new ScriptedClipboard();
  const log = captureLog();
  const changes: { data: string; initial: boolean }[] = [];
  const watcher = new ClipboardWatcher(backend, 500, (content, initial) => changes.push({ data: content.data.toString(), initial }), log.log, clock);
  return { clock, backend, log, changes, watcher, tick: () => clock.advance(500, () => turns(1)) };
}

describe('ClipboardWatcher', () => {
  it('reports what the clipboard held at start as initial, then each change once, on its interval', async () => {
    const { backend, changes, watcher, tick } = setup();
    backend.content = text('at start');
    await watcher.start();
    expect(changes).toEqual([{ data: 'at start', initial: true }]);
    await tick();
    expect(changes).toHaveLength(1); // unchanged: nothing new
    backend.content = text('copied');
    await tick();
    await tick();
    expect(changes).toEqual([
      { data: 'at start', initial: true },
      { data: 'copied', initial: false },
    ]);
    watcher.stop();
  });

  it('does not take what clipsync itself wrote for a new local copy (no echo of received clips)', async () => {
    const { backend, changes, watcher, tick } = setup();
    await watcher.start();
    const port = clipboardPort(backend, () => watcher);
    await port.write({ id: 'x', mime: 'text/plain', size: 8, ts: 1, origin: 'peer', data: Buffer.from('received') });
    await tick();
    expect(changes).toEqual([]);
    backend.content = text('typed after');
    await tick();
    expect(changes).toEqual([{ data: 'typed after', initial: false }]);
    watcher.stop();
  });

  it('logs a failing clipboard once, keeps polling, and says when it reads again', async () => {
    const { backend, changes, watcher, log, tick } = setup();
    backend.failing = new Error('xsel: cannot open display');
    await watcher.start();
    await tick();
    await tick();
    expect(log.at('warn').map((l) => l['msg'])).toEqual(['cannot read the system clipboard']);
    backend.failing = undefined;
    backend.content = text('back');
    await tick();
    expect(log.at('info').map((l) => l['msg'])).toContain('system clipboard readable again');
    expect(changes).toEqual([{ data: 'back', initial: false }]);
    watcher.stop();
  });

  it('shares a poll already under way with pollNow (paste asks while the timer polls)', async () => {
    const { backend, watcher } = setup();
    await watcher.start();
    const before = backend.reads;
    await Promise.all([watcher.pollNow(), watcher.pollNow(), watcher.pollNow()]);
    expect(backend.reads - before).toBe(1);
    watcher.stop();
  });

  it('polls no more once stopped', async () => {
    const { backend, watcher, clock, tick } = setup();
    await watcher.start();
    watcher.stop();
    const before = backend.reads;
    await tick();
    await tick();
    expect(backend.reads).toBe(before);
    expect(clock.pendingTimers).toBe(0);
  });
});
