import { afterEach, describe, expect, it } from 'vitest';
import type { ClipboardBackend, ClipboardKind } from '../../../src/clipboard/backend.js';
import { MemoryBackend } from '../../../src/clipboard/memory-backend.js';
import { selectBackend, type Attempt, type AttemptOptions, type SelectOptions } from '../../../src/clipboard/select-backend.js';
import { isClipsyncError } from '../../../src/core/errors.js';
import { captureLog } from '../_support/logger.js';

/*
 * The choice of clipboard backend (docs/CLIPBOARD.md): the `auto` order per platform, what
 * `system` and a named backend insist on, and what is said about backends passed over. Each
 * backend is tried through a stand-in that answers as the real one would on such a machine.
 */

/** A backend that works, named by its kind; its reason says what it was chosen over, as X11's does. */
class StandIn extends MemoryBackend {
  constructor(
    readonly chosen: ClipboardKind,
    passedOver: string[],
  ) {
    super(passedOver.length > 0 ? `${chosen}, since ${passedOver.join('; ')}` : chosen);
  }
}

function working(kind: ClipboardKind, passedOver: string[]): ClipboardBackend {
  const backend = new StandIn(kind, passedOver);
  return Object.defineProperty(backend, 'kind', { value: kind }) as ClipboardBackend;
}

const made: ClipboardBackend[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((b) => b.stop()));
});

function machine(answers: Partial<Record<ClipboardKind, Exclude<Attempt, { backend: ClipboardBackend }> | 'works'>>): { tried: ClipboardKind[]; attempt: SelectOptions['attempt'] } {
  const tried: ClipboardKind[] = [];
  return {
    tried,
    attempt: async (kind: ClipboardKind, options: AttemptOptions): Promise<Attempt> => {
      tried.push(kind);
      const answer = answers[kind] ?? { failed: `${kind} is not here`, absent: true };
      return answer === 'works' ? { backend: working(kind, [...options.passedOver]) } : answer;
    },
  };
}

async function choose(choice: SelectOptions['choice'], platform: NodeJS.Platform, answers: Parameters<typeof machine>[0]) {
  const log = captureLog();
  const { tried, attempt } = machine(answers);
  const backend = await selectBackend({ choice, env: {}, platform, timeoutMs: 100, primary: false, log: log.log, attempt });
  made.push(backend);
  return { backend, tried, log };
}

describe('choosing the clipboard backend', () => {
  it('on Linux, auto takes Wayland with data-control first', async () => {
    const { backend, tried } = await choose('auto', 'linux', { wayland: 'works', x11: 'works' });
    expect(backend.kind).toBe('wayland');
    expect(tried).toEqual(['wayland']);
  });

  it('on GNOME (no data-control), auto takes X11 through XWayland and says why, never polling Wayland', async () => {
    const { backend, tried, log } = await choose('auto', 'linux', { wayland: { failed: 'the compositor has no data-control protocol (GNOME)' }, x11: 'works' });
    expect(backend.kind).toBe('x11');
    expect(tried).toEqual(['wayland', 'x11']);
    expect(backend.reason).toContain('wayland: the compositor has no data-control protocol (GNOME)');
    expect(log.lines.find((l) => l['msg'] === 'clipboard backend chosen')).toMatchObject({ backend: 'x11', passedOver: ['wayland: the compositor has no data-control protocol (GNOME)'] });
  });

  it('does not mention a backend the session simply lacks', async () => {
    const { backend, log } = await choose('auto', 'linux', { x11: 'works' }); // no WAYLAND_DISPLAY at all
    expect(backend.reason).toBe('x11');
    expect(log.lines.find((l) => l['msg'] === 'clipboard backend chosen')).toBeUndefined();
  });

  it('warns once, with the package to install, about a missing tool, and goes on with what works', async () => {
    const { backend, log } = await choose('auto', 'linux', { wayland: { failed: 'wl-paste and wl-copy not found on PATH', hint: 'install wl-clipboard' }, x11: 'works' });
    expect(backend.kind).toBe('x11');
    expect(log.lines.filter((l) => l['msg'] === 'clipboard backend unavailable')).toEqual([expect.objectContaining({ backend: 'wayland', hint: 'install wl-clipboard' })]);
  });

  it('with no display, auto runs on the memory clipboard and says why', async () => {
    const { backend } = await choose('auto', 'linux', {});
    expect(backend.kind).toBe('memory');
    expect(backend.reason).toMatch(/no display yet .*memory clipboard/);
    expect(backend.hasEvents).toBe(true); // the display watch: switches when one appears
  });

  it('system refuses to start without a desktop clipboard, naming what is missing', async () => {
    const err = await choose('system', 'linux', {}).catch((e: unknown) => e);
    expect(isClipsyncError(err) && err.code).toBe('CLIPSYNC_ERR_CLIPBOARD');
    expect(String((err as Error).message)).toMatch(/system clipboard is not reachable .*wayland.*x11/);
  });

  it('a named backend is that backend or an error, never another', async () => {
    const err = await choose('x11', 'linux', { x11: { failed: 'cannot open display :3' }, wayland: 'works' }).catch((e: unknown) => e);
    expect(isClipsyncError(err) && err.message).toBe('the x11 clipboard is not reachable: cannot open display :3');
    expect((await choose('wayland', 'linux', { wayland: 'works' })).backend.kind).toBe('wayland');
  });

  it('on macOS auto takes the pasteboard helper; elsewhere clipboardy text; memory when asked', async () => {
    expect((await choose('auto', 'darwin', { macos: 'works', x11: 'works' })).backend.kind).toBe('macos');
    expect((await choose('auto', 'win32', { text: 'works' })).backend.kind).toBe('text');
    const { backend, tried } = await choose('memory', 'linux', { x11: 'works' });
    expect(backend.kind).toBe('memory');
    expect(tried).toEqual([]);
  });
});
