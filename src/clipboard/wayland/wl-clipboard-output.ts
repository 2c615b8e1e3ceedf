/**
 * What wl-clipboard (wl-paste, wl-copy) says, recognised in one place. The other files of this
 * folder never match on tool output themselves, so a wording change in a new wl-clipboard
 * release is fixed here, and every sentence below is covered by a unit test.
 *
 * Versions differ: 2.1 says "No selection" where 2.2+ says "Nothing is copied", and only 2.2+
 * sets CLIPBOARD_STATE for the --watch command (2.1 leaves it unset).
 */

/** The state wl-paste --watch reports for each change (`$CLIPBOARD_STATE`, wl-clipboard ≥ 2.2). */
export type WatchState = 'data' | 'nil' | 'clear' | 'sensitive';

/**
 * One line the watch command printed → the state. wl-clipboard 2.1 never sets the variable (the
 * command prints an empty line) and the man page asks clients to treat unknown values sensibly:
 * both mean "something was copied", the one state that is safe to read.
 */
export function parseWatchState(line: string): WatchState {
  const value = line.trim();
  return value === 'nil' || value === 'clear' || value === 'sensitive' ? value : 'data';
}

/**
 * A WAYLAND_DEBUG line showing wl-paste asking a data-control manager for its device: the proof
 * that the compositor has the protocol AND this wl-paste uses it (wl-clipboard 2.1 knows only
 * the wlr one, 2.3 also the ext one). libwayland ≥ 1.23 writes `#` where older ones write `@`;
 * requests carry `->`, which events lack.
 */
export function isDataControlDeviceRequest(line: string): boolean {
  return line.includes('->') && /\b(?:zwlr|ext)_data_control_manager_v1[@#]\d+\.get_data_device\(/.test(line);
}

/** wl-paste --watch refusing to run: the compositor (GNOME's Mutter, say) has no data-control. */
export function saysNoDataControl(stderr: string): boolean {
  return /requires a compositor that supports .*data-control|built without .*data-control/i.test(stderr);
}

/** The selection is empty (no owner). */
export function saysNothingCopied(stderr: string): boolean {
  return /\bNo selection\b|\bNothing is copied\b/.test(stderr);
}

/** No compositor at WAYLAND_DISPLAY (gone, not started yet, or a wrong path). */
export function saysCannotConnect(stderr: string): boolean {
  return /Failed to connect to a Wayland server/.test(stderr);
}

/** stderr without libwayland's debug lines (`[12345.678] …`), cut to its last few lines, for messages. */
export function plainStderr(stderr: string, maxLines = 4): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\[\s*\d+\.\d+\]/.test(l))
    .slice(-maxLines)
    .join('; ');
}
