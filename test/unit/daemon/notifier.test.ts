import { describe, expect, it } from 'vitest';
import { DaemonEvents } from '../../../src/ipc/daemon-events.js';
import { notifyDesktop, type NotificationSink } from '../../../src/daemon/notifier.js';
import { captureLog } from '../_support/logger.js';
import { turns } from '../_support/event-loop.js';

describe('desktop notifications', () => {
  it('shows only the kinds asked for, read at each notice', async () => {
    const events = new DaemonEvents();
    const shown: string[] = [];
    let kinds: ('pairing' | 'received')[] = ['pairing'];
    notifyDesktop(events, () => kinds, captureLog().log, () => ({ send: async (_s, body) => void shown.push(body), close: () => undefined }));
    events.notice({ kind: 'received', message: 'a clip' });
    events.notice({ kind: 'pairing', message: 'code 1' });
    kinds = ['pairing', 'received']; // a live config change
    events.notice({ kind: 'received', message: 'another clip' });
    await turns(2);
    expect(shown).toEqual(['code 1', 'another clip']);
  });

  it('with no notification server: says so once, tries again a minute later on a fresh connection', async () => {
    const events = new DaemonEvents();
    const { log, lines } = captureLog();
    let clock = 0;
    let sinks = 0;
    let up = false;
    const shown: string[] = [];
    const sink = (): NotificationSink => {
      sinks++;
      return { send: async (_s, body) => (up ? void shown.push(body) : Promise.reject(new Error('no session bus'))), close: () => undefined };
    };
    notifyDesktop(events, () => ['refused'], log, sink, () => clock);
    events.notice({ kind: 'refused', message: 'first' });
    await turns(2);
    events.notice({ kind: 'refused', message: 'too soon' }); // within the minute: not tried
    clock = 61_000;
    events.notice({ kind: 'refused', message: 'still down' });
    await turns(2);
    expect(sinks).toBe(2);
    expect(lines.filter((l) => String(l['msg']).startsWith('desktop notifications unavailable'))).toHaveLength(1);
    up = true;
    clock = 200_000;
    events.notice({ kind: 'refused', message: 'back' });
    await turns(2);
    expect(shown).toEqual(['back']);
  });
});
