import { describe, expect, it } from 'vitest';
import type { BackendEvents, ClipboardBackend, ClipboardSnapshot, ClipToWrite, ReadOptions, Representation, Selection } from '../../../src/clipboard/backend.js';
import { clipboardPort } from '../../../src/clipboard/clipboard-port.js';
import { FormatPolicy } from '../../../src/clipboard/formats.js';
import { ClipboardWatcher, type LocalCopy } from '../../../src/clipboard/watcher.js';
import { TEXT_MIME, assembleClip } from '../../../src/sync/clip.js';
import { FakeClock } from '../_support/fake-clock.js';
import { turns, untilTrue } from '../_support/event-loop.js';
import { captureLog } from '../_support/logger.js';

/**
 * The watcher's decisions against a backend the test drives: an app "copies" by setting what a
 * selection holds (and, with events, the backend says it changed); reads can be held open, or
 * made to fail. Like a real backend it returns only the formats `ReadOptions.accept` lets through.
 */
/** A fetch for tests whose clips are all local. */
const unfetchable = async (): Promise<never> => {
  throw new Error('nothing to fetch in this test');
};

class FakeBackend implements ClipboardBackend {
  readonly kind = 'x11' as const;
  readonly reason = 'a test backend';
  servesLazily = false;
  events: BackendEvents | undefined;
  readonly reads: Selection[] = [];
  readonly written: ClipToWrite[] = [];
  options: ReadOptions | undefined;
  /** Reads under way now, and the most there ever were at once. */
  active = 0;
  maxActive = 0;
  /** Each read takes the next of these, if any, and rejects with it. */
  readonly failures: Error[] = [];
  stopped = false;
  /** Returns formats over `maxFormatBytes` too, as a careless backend might. */
  ignoresCap = false;
  private readonly held = new Map<Selection, { formats: Representation[]; sensitive: boolean }>();
  private gate: Promise<void> | undefined;

  constructor(readonly hasEvents = true) {}

  async start(events: BackendEvents): Promise<void> {
    this.events = events;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** An app copies `formats`; with events (unless `announce` is false) the backend reports the change. */
  copy(formats: Representation[], opts: { selection?: Selection; sensitive?: boolean; announce?: boolean } = {}): void {
    const selection = opts.selection ?? 'clipboard';
    this.held.set(selection, { formats, sensitive: opts.sensitive ?? false });
    if (opts.announce ?? this.hasEvents) this.events!.changed(selection);
  }

  /** Reads that start from now on wait until the returned function is called. */
  holdReads(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  async read(selection: Selection, options: ReadOptions): Promise<ClipboardSnapshot | null> {
    this.reads.push(selection);
    this.options = options;
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    const content = this.held.get(selection); // what the selection holds as the read starts
    try {
      await this.gate;
      const failure = this.failures.shift();
      if (failure !== undefined) throw failure;
      if (content === undefined) return null;
      const formats = content.formats.filter((f) => options.accept(f.mime) && (this.ignoresCap || f.data.length <= options.maxFormatBytes));
      return { selection, formats, sensitive: content.sensitive };
    } finally {
      this.active -= 1;
    }
  }

  async write(clip: ClipToWrite): Promise<'written'> {
    this.written.push(clip);
    return 'written';
  }
}

const text = (s: string, mime = TEXT_MIME): Representation => ({ mime, data: Buffer.from(s) });
const KDE_HINT = 'x-kde-passwordManagerHint';

function setup(options: { hasEvents?: boolean; selections?: Selection[] } = {}) {
  const clock = new FakeClock();
  const backend = new FakeBackend(options.hasEvents ?? true);
  const log = captureLog();
  const copies: LocalCopy[] = [];
  let reconnects = 0;
  const policy = new FormatPolicy({ extra: [], maxFormatBytes: 1024, maxClipBytes: 4096, sendSensitive: false });
  const watcher = new ClipboardWatcher(backend, policy, options.selections ?? ['clipboard'], (copy) => copies.push(copy), () => (reconnects += 1), log.log, 500, clock);
  /** What was reported, readably: selection, initial, and each format as "type:bytes". */
  const seen = () => copies.map((c) => ({ selection: c.selection, initial: c.initial, formats: c.formats.map((f) => `${f.mime}:${f.data.toString()}`) }));
  return { clock, backend, log, copies, seen, watcher, reconnects: () => reconnects };
}

const msgs = (lines: Record<string, unknown>[]) => lines.map((l) => l['msg']);

describe('ClipboardWatcher: events and reads', () => {
  it('reports what each selection held at start as initial, then reads once per change event', async () => {
    const { backend, seen, watcher } = setup({ selections: ['clipboard', 'primary'] });
    backend.copy([text('at start')], { announce: false });
    await watcher.start();
    expect([...backend.reads].sort()).toEqual(['clipboard', 'primary']);
    expect(seen()).toEqual([{ selection: 'clipboard', initial: true, formats: [`${TEXT_MIME}:at start`] }]);
    await turns(5);
    expect(backend.reads).toHaveLength(2); // no event, no read
    backend.copy([text('selected')], { selection: 'primary' });
    backend.copy([text('copied'), text('<i>copied</i>', 'text/html')]);
    await watcher.settled();
    expect(seen().slice(1)).toEqual([
      { selection: 'primary', initial: false, formats: [`${TEXT_MIME}:selected`] },
      { selection: 'clipboard', initial: false, formats: [`${TEXT_MIME}:copied`, 'text/html:<i>copied</i>'] },
    ]);
    expect(backend.reads).toHaveLength(4);
    await watcher.stop();
  });

  it('ignores changes of a selection it does not watch', async () => {
    const { backend, seen, watcher } = setup();
    await watcher.start();
    backend.copy([text('mouse selection')], { selection: 'primary' });
    await watcher.settled();
    expect(backend.reads).toEqual(['clipboard']);
    expect(seen()).toEqual([]);
    await watcher.stop();
  });

  it('asks the backend for the travelling types and the password hints, capped at formats.maxBytes', async () => {
    const { backend, watcher } = setup();
    await watcher.start();
    expect(backend.options?.maxFormatBytes).toBe(1024);
    expect([TEXT_MIME, 'text/html', 'image/png', KDE_HINT].map((m) => backend.options?.accept(m))).toEqual([true, true, true, true]);
    expect(backend.options?.accept('TARGETS')).toBe(false);
    await watcher.stop();
  });

  it('reads one at a time; a read the clipboard changed under is dropped and read again, so the last copy is never missed', async () => {
    const { backend, seen, watcher } = setup();
    await watcher.start();
    const release = backend.holdReads();
    backend.copy([text('first')]);
    await untilTrue(() => backend.active === 1, 'the read of the first copy');
    backend.copy([text('second')]);
    backend.copy([text('third')]);
    await turns(5);
    expect(backend.reads).toHaveLength(2); // still the one read of "first"
    release();
    await watcher.settled();
    // The read of "first" ran while the clipboard changed: its types and bytes may come from two
    // copies (a user name, then a password with its secret hint), so only the read after counts.
    expect(seen().map((c) => c.formats)).toEqual([[`${TEXT_MIME}:third`]]);
    expect(backend.reads).toHaveLength(3); // two events during the read: one more read
    expect(backend.maxActive).toBe(1);
    await watcher.stop();
  });

  it('sends nothing of a copy with no format that travels, nor of one whose formats are over the cap', async () => {
    const { backend, seen, log, watcher } = setup();
    await watcher.start();
    backend.copy([text('BM', 'image/bmp'), text('x'.repeat(2000))]); // neither is read (ReadOptions)
    await watcher.settled();
    expect(seen()).toEqual([]);
    expect(log.at('info')).toEqual([]);
    backend.ignoresCap = true; // read anyway: the policy still keeps it from being sent, and says so
    backend.copy([text('y'.repeat(2000)), text('<p>fits</p>', 'text/html')]);
    await watcher.settled();
    expect(seen().map((c) => c.formats)).toEqual([['text/html:<p>fits</p>']]);
    backend.copy([text('z'.repeat(2000))]);
    await watcher.settled();
    expect(seen()).toHaveLength(1);
    expect(log.at('info')).toEqual([expect.objectContaining({ skipped: [TEXT_MIME], msg: 'copy has no format that travels (or each is over its cap); not sent' })]);
    await watcher.stop();
  });

  it('tells the daemon when the display comes back', async () => {
    const { backend, log, watcher, reconnects } = setup();
    await watcher.start();
    backend.events!.reconnected();
    expect(reconnects()).toBe(1);
    expect(msgs(log.at('info'))).toContain('clipboard reachable again; offering the current clip');
    await watcher.stop();
  });

  // The daemon's adoptInitial ignores an initial clip when one is current: a copy made while
  // the first read runs must come as a change, or it would never be sent.
  it('reports a copy made while the first read runs as a new copy, not as the initial clip', async () => {
    const { backend, seen, watcher } = setup();
    backend.copy([text('at start')], { announce: false });
    const release = backend.holdReads();
    const started = watcher.start();
    await untilTrue(() => backend.active === 1, 'the first read');
    backend.copy([text('copied during start')]);
    release();
    await started;
    await watcher.settled();
    // The first read was overtaken by the copy (so it is dropped); the copy comes as a change.
    expect(seen().map((c) => [c.initial, c.formats])).toEqual([[false, [`${TEXT_MIME}:copied during start`]]]);
    await watcher.stop();
  });
});

describe('ClipboardWatcher: what is not a new copy', () => {
  it('does not take what clipsync wrote (noteWritten) for a new copy, but does the next copy', async () => {
    const { backend, seen, log, watcher } = setup();
    await watcher.start();
    watcher.noteWritten('clipboard', [text('received')]);
    backend.copy([text('received')]);
    await watcher.settled();
    expect(seen()).toEqual([]);
    expect(msgs(log.at('debug'))).toContain('clipboard re-offers the last clip; not a new copy');
    backend.copy([text('typed after')]);
    await watcher.settled();
    expect(seen()).toEqual([{ selection: 'clipboard', initial: false, formats: [`${TEXT_MIME}:typed after`] }]);
    await watcher.stop();
  });

  it('does not take an app re-offering the last clip with CRLF, a trailing NUL, plain text/plain or fewer formats for a new copy', async () => {
    const { backend, seen, watcher } = setup();
    await watcher.start();
    watcher.noteWritten('clipboard', [text('<p>one</p>\n', 'text/html'), text('one\ntwo\n')]);
    backend.copy([text('one\r\ntwo\r\n', 'text/plain'), text('<p>one</p>\n\0', 'text/html')]);
    await watcher.settled();
    backend.copy([text('one\ntwo\n')]);
    await watcher.settled();
    expect(seen()).toEqual([]);
    // Another format beside the same text: that is a new copy.
    backend.copy([text('one\ntwo\n'), text('\x89PNG', 'image/png')]);
    await watcher.settled();
    expect(seen()).toHaveLength(1);
    await watcher.stop();
  });

  it('puts an announced clip on a lazy backend, fetching it once when an app opens a format; a backend that cannot wait is left alone', async () => {
    const { backend, watcher } = setup();
    await watcher.start();
    const whole = { ...assembleClip([text('big'), text('<i>big</i>', 'text/html')]), ts: 2, origin: 'SHA256:peer' };
    const { data: _bytes, ...announced } = whole;
    let fetches = 0;
    const port = clipboardPort(backend, () => watcher, async (id) => {
      fetches += 1;
      expect(id).toBe(whole.id);
      return whole;
    });
    expect(await port.write(announced, () => true)).toBe('unsupported'); // servesLazily false
    expect(backend.written).toEqual([]);
    backend.servesLazily = true;
    expect(await port.write(announced, () => true)).toBe('written');
    const offered = backend.written[0]!;
    expect(offered.local).toBe(false);
    expect(fetches).toBe(0); // nothing crosses until an app asks
    const read = async (i: number): Promise<string> => {
      const chunks: Buffer[] = [];
      for await (const chunk of await offered.formats[i]!.open()) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString();
    };
    expect(await Promise.all([read(0), read(1)])).toEqual(['<i>big</i>', 'big']);
    expect(fetches).toBe(1);
    await watcher.stop();
  });

  it('does not take a clip put on the clipboard through the port for a new copy, whatever order the app offers its formats in', async () => {
    const { backend, seen, watcher } = setup();
    await watcher.start();
    const port = clipboardPort(backend, () => watcher, unfetchable);
    const clip = { ...assembleClip([text('hello'), text('<b>hello</b>', 'text/html')]), ts: 1, origin: 'SHA256:peer' };
    expect(await port.write(clip, () => true)).toBe('written');
    expect(backend.written.map((w) => w.formats.map((f) => f.mime))).toEqual([['text/html', TEXT_MIME]]);
    backend.copy([text('hello'), text('<b>hello</b>', 'text/html')]);
    await watcher.settled();
    expect(seen()).toEqual([]);
    await watcher.stop();
  });

  it('skips and counts copies marked secret, and a copy of the same words after one is new', async () => {
    const { backend, clock, seen, log, watcher } = setup();
    await watcher.start();
    watcher.noteWritten('clipboard', [text('shared')]);
    backend.copy([text('hunter2'), text('secret', KDE_HINT)]);
    await watcher.settled();
    expect(watcher.stats).toEqual({ sensitiveSkipped: 1, lastSensitiveAt: new Date(clock.now()).toISOString() });
    await clock.advance(60_000);
    backend.copy([text('pa55')], { sensitive: true }); // the platform's own mark (Wayland)
    await watcher.settled();
    expect(watcher.stats).toEqual({ sensitiveSkipped: 2, lastSensitiveAt: new Date(clock.now()).toISOString() });
    expect(seen()).toEqual([]);
    expect(msgs(log.at('info'))).toEqual([
      'a copy marked secret by a password manager was skipped (not sent, not kept)',
      'a copy marked secret by a password manager was skipped (not sent, not kept)',
    ]);
    // The secret replaced what clipsync had written: copying those words again is a copy.
    backend.copy([text('shared')]);
    await watcher.settled();
    expect(seen()).toEqual([{ selection: 'clipboard', initial: false, formats: [`${TEXT_MIME}:shared`] }]);
    expect(watcher.stats.sensitiveSkipped).toBe(2);
    await watcher.stop();
  });
});

describe('ClipboardWatcher: failures and settling', () => {
  it('logs a failing read once, goes on, and says when it reads again', async () => {
    const { backend, seen, log, watcher } = setup();
    backend.failures.push(new Error('owner frozen'), new Error('owner frozen'), new Error('owner frozen'));
    await watcher.start(); // the first read fails too: start still resolves
    backend.copy([text('lost')]);
    await watcher.settled();
    backend.copy([text('lost too')]);
    await watcher.settled();
    expect(seen()).toEqual([]);
    expect(log.at('warn')).toEqual([expect.objectContaining({ selection: 'clipboard', reason: 'owner frozen', msg: 'cannot read the clipboard; skipped this copy' })]);
    backend.copy([text('back')]);
    await watcher.settled();
    expect(msgs(log.at('info'))).toEqual(['clipboard readable again']);
    expect(seen()).toEqual([{ selection: 'clipboard', initial: false, formats: [`${TEXT_MIME}:back`] }]);
    await watcher.stop();
  });

  it('settled() resolves only once every change reported so far has been read', async () => {
    const { backend, seen, watcher } = setup();
    await watcher.start();
    await watcher.settled(); // nothing pending: no read
    expect(backend.reads).toHaveLength(1);
    const release = backend.holdReads();
    backend.copy([text('slow owner')]);
    let done = false;
    const settling = watcher.settled().then(() => (done = true));
    await untilTrue(() => backend.active === 1, 'the read');
    await turns(5);
    expect(done).toBe(false);
    release();
    await settling;
    expect(seen().map((c) => c.formats)).toEqual([[`${TEXT_MIME}:slow owner`]]);
    await watcher.stop();
  });

  it('settled(true) reads every watched selection now, for a copy whose event is still on its way', async () => {
    const { backend, seen, watcher } = setup();
    await watcher.start();
    backend.copy([text('event not here yet')], { announce: false });
    await watcher.settled();
    expect(seen()).toEqual([]);
    await watcher.settled(true);
    expect(seen()).toEqual([{ selection: 'clipboard', initial: false, formats: [`${TEXT_MIME}:event not here yet`] }]);
    expect(backend.reads).toHaveLength(2);
    await watcher.stop();
  });

  it('stop() waits for a read under way, then stops the backend, and reads nothing after', async () => {
    const { backend, watcher } = setup();
    await watcher.start();
    const release = backend.holdReads();
    backend.copy([text('in flight')]);
    await untilTrue(() => backend.active === 1, 'the read');
    let stopped = false;
    const stopping = watcher.stop().then(() => (stopped = true));
    await turns(5);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(backend.stopped).toBe(true);
    backend.copy([text('after stop')]);
    await turns(5);
    expect(backend.reads).toHaveLength(2);
  });
});

describe('ClipboardWatcher: the text fallback (no events)', () => {
  const nextPoll = (clock: FakeClock) => untilTrue(() => clock.pendingTimers === 1, 'the next poll scheduled');

  it('polls on its interval, reports a change once, and polls no more once stopped', async () => {
    const { backend, clock, seen, watcher } = setup({ hasEvents: false });
    backend.copy([text('at start')]);
    await watcher.start();
    expect(seen()).toEqual([{ selection: 'clipboard', initial: true, formats: [`${TEXT_MIME}:at start`] }]);
    expect(clock.pendingDelays()).toEqual([500]);
    await clock.advance(499);
    expect(backend.reads).toHaveLength(1);
    await clock.advance(1);
    await nextPoll(clock);
    expect(backend.reads).toHaveLength(2);
    expect(seen()).toHaveLength(1); // unchanged: nothing new
    backend.copy([text('copied')]);
    await clock.advance(500);
    await nextPoll(clock);
    expect(seen().map((c) => [c.initial, c.formats])).toEqual([
      [true, [`${TEXT_MIME}:at start`]],
      [false, [`${TEXT_MIME}:copied`]],
    ]);
    await watcher.stop();
    expect(clock.pendingTimers).toBe(0);
    const before = backend.reads.length;
    await clock.advance(5_000);
    expect(backend.reads).toHaveLength(before);
  });

  it('does not poll again until a slow read has finished', async () => {
    const { backend, clock, watcher } = setup({ hasEvents: false });
    await watcher.start();
    const release = backend.holdReads();
    await clock.advance(500);
    await untilTrue(() => backend.active === 1, 'the poll');
    await clock.advance(2_000);
    expect(clock.pendingTimers).toBe(0);
    expect(backend.reads).toHaveLength(2);
    release();
    await nextPoll(clock);
    expect(backend.maxActive).toBe(1);
    await watcher.stop();
  });

  it('settled() reads at once without waiting for the next poll', async () => {
    const { backend, seen, watcher } = setup({ hasEvents: false });
    await watcher.start();
    backend.copy([text('just now')]);
    await watcher.settled();
    expect(seen().map((c) => c.formats)).toEqual([[`${TEXT_MIME}:just now`]]);
    await watcher.stop();
  });
});
