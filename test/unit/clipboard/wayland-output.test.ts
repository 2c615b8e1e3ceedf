import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { watchScript } from '../../../src/clipboard/wayland/selection-watch.js';
import {
  isDataControlDeviceRequest,
  parseWatchState,
  plainStderr,
  saysCannotConnect,
  saysNothingCopied,
} from '../../../src/clipboard/wayland/wl-clipboard-output.js';

describe('wl-clipboard output', () => {
  it('parses $CLIPBOARD_STATE lines, unknown or unset (wl-clipboard 2.1) as data', () => {
    expect(parseWatchState('sensitive')).toBe('sensitive');
    expect(parseWatchState('sensitive\r')).toBe('sensitive');
    expect(parseWatchState('nil')).toBe('nil');
    expect(parseWatchState('clear')).toBe('clear');
    expect(parseWatchState('data')).toBe('data');
    expect(parseWatchState('')).toBe('data');
    expect(parseWatchState('something-new')).toBe('data');
  });

  it('finds the data-control device request in WAYLAND_DEBUG output, old and new libwayland', () => {
    expect(
      isDataControlDeviceRequest(
        '[1835983.049]  -> zwlr_data_control_manager_v1@8.get_data_device(new id zwlr_data_control_device_v1@3, wl_seat@10)',
      ),
    ).toBe(true);
    expect(isDataControlDeviceRequest('[1.0] {Default Queue}  -> ext_data_control_manager_v1#8.get_data_device(new id ext_data_control_device_v1#3, wl_seat#10)')).toBe(true);
    // The global being advertised is not enough: wl-paste may not know that protocol.
    expect(isDataControlDeviceRequest('[1.0] wl_registry@2.global(24, "zwlr_data_control_manager_v1", 2)')).toBe(false);
    expect(isDataControlDeviceRequest('[1.0]  -> wl_data_device_manager@6.get_data_device(new id wl_data_device@3, wl_seat@10)')).toBe(false);
  });

  it('recognises an empty clipboard in both wordings, and a missing compositor', () => {
    expect(saysNothingCopied('No selection\n')).toBe(true);
    expect(saysNothingCopied('Nothing is copied\n')).toBe(true);
    expect(saysNothingCopied('No suitable type of content copied\n')).toBe(false);
    expect(saysCannotConnect('Failed to connect to a Wayland server\n')).toBe(true);
  });

  it('keeps the last plain lines of stderr, without debug lines', () => {
    expect(plainStderr('[1.0] a\nfirst\n[2.0] b\nsecond\n')).toBe('first; second');
  });
});

describe('the watch script', () => {
  it('prints the state at once and drains the copy; an unset state prints an empty line', () => {
    const script = watchScript(2);
    expect(script).toContain('timeout 2 cat');
    const run = (env: NodeJS.ProcessEnv): string =>
      execFileSync('sh', ['-c', script], { input: Buffer.alloc(200_000, 1), env: { PATH: process.env['PATH'], ...env }, encoding: 'utf8' });
    expect(run({ CLIPBOARD_STATE: 'sensitive' })).toBe('sensitive\n');
    expect(parseWatchState(run({}).trimEnd())).toBe('data');
  });

  it('rounds the drain limit up to whole seconds, at least one', () => {
    expect(watchScript(0.2)).toContain('timeout 1 cat');
    expect(watchScript(2.5)).toContain('timeout 3 cat');
  });
});
