import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SelectionWatch } from '../../../src/clipboard/wayland/selection-watch.js';
import type { WatchState } from '../../../src/clipboard/wayland/wl-clipboard-output.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeClock } from '../_support/fake-clock.js';
import { captureLog } from '../_support/logger.js';

/**
 * The watch's life cycle on the fake clock, with a stand-in wl-paste: "down" fails as with no
 * compositor; "up" logs the data-control request (as WAYLAND_DEBUG does), runs the real watch
 * script once with CLIPBOARD_STATE=sensitive, then keeps watching.
 */
const FAKE_WL_PASTE = `#!/bin/sh
dir=$(dirname "$0")
printf "%s\\n" "$*" >> "$dir/calls"
if [ "$(cat "$dir/mode")" = down ]; then echo 'Failed to connect to a Wayland server' >&2; exit 1; fi
echo '[1.000]  -> zwlr_data_control_manager_v1@8.get_data_device(new id zwlr_data_control_device_v1@3, wl_seat@10)' >&2
while [ "$1" != --watch ]; do shift; done
shift
echo payload | CLIPBOARD_STATE=sensitive "$@"
exec sleep 600
`;

describe('SelectionWatch', () => {
  let dir: string;
  let watch: SelectionWatch | undefined;

  afterEach(async () => {
    await watch?.stop();
    watch = undefined;
    removeDir(dir);
  });

  function setUp(mode: 'up' | 'down'): { clock: FakeClock; states: WatchState[]; connects: boolean[]; losses: () => number; log: ReturnType<typeof captureLog>; calls: () => string[] } {
    dir = makeTempDir('cs-wlfake-');
    writeFileSync(join(dir, 'wl-paste'), FAKE_WL_PASTE);
    chmodSync(join(dir, 'wl-paste'), 0o755);
    writeFileSync(join(dir, 'mode'), mode);
    writeFileSync(join(dir, 'calls'), '');
    const clock = new FakeClock();
    const states: WatchState[] = [];
    const connects: boolean[] = [];
    let lost = 0;
    const log = captureLog();
    watch = new SelectionWatch({
      selection: 'primary',
      env: { PATH: `${dir}:${process.env['PATH']}` },
      clock,
      log: log.log,
      drainMs: 1000,
      onChange: (s) => void states.push(s),
      onConnected: (afterLoss) => void connects.push(afterLoss),
      onLost: () => void lost++,
    });
    const calls = (): string[] => readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean);
    return { clock, states, connects, losses: () => lost, log, calls };
  }

  it('reports the state of each change and a first connection that is no reconnection', async () => {
    const t = setUp('up');
    watch!.start();
    await waitFor(() => t.states.length === 1 && t.connects.length === 1, { what: 'the first change' });
    expect(t.states).toEqual(['sensitive']);
    expect(t.connects).toEqual([false]);
    expect(t.calls()[0]).toMatch(/^--primary --watch sh -c /);
  });

  it('restarts a dead watch with growing backoff, logs once per outage, and says when it is back', async () => {
    const t = setUp('down');
    watch!.start();
    await waitFor(() => t.clock.pendingTimers === 1, { what: 'the first restart to be planned' });
    expect(t.clock.pendingDelays()).toEqual([250]);
    for (const next of [500, 1000]) {
      t.clock.advanceSync(t.clock.pendingDelays()[0]!);
      await waitFor(() => t.clock.pendingDelays()[0] === next, { what: `a restart in ${next} ms` });
    }
    expect(t.calls()).toHaveLength(3);
    expect(t.losses()).toBe(1);
    expect(t.log.at('warn')).toHaveLength(1);
    expect(t.log.at('warn')[0]).toMatchObject({ stderr: 'Failed to connect to a Wayland server' });
    expect(t.connects).toEqual([]);

    writeFileSync(join(dir, 'mode'), 'up');
    t.clock.advanceSync(1000);
    await waitFor(() => t.connects.length === 1, { what: 'the reconnection' });
    expect(t.connects).toEqual([true]);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('stops for good: no restart after stop(), twice is fine', async () => {
    const t = setUp('down');
    watch!.start();
    await waitFor(() => t.clock.pendingTimers === 1, { what: 'a planned restart' });
    await watch!.stop();
    await watch!.stop();
    expect(t.clock.pendingTimers).toBe(0);
  });
});
