import type { BarState } from '../status-formats.js';

/** Themed icon names (freedesktop naming spec) per state: what Plasma and GNOME draw first. */
export const ICON_NAMES: Record<BarState, string> = {
  idle: 'edit-paste',
  transferring: 'emblem-synchronizing',
  paused: 'media-playback-pause',
  'no-peers': 'network-offline',
  error: 'dialog-error',
};

const COLORS: Record<BarState, [number, number, number]> = {
  idle: [0x2e, 0x9e, 0x5b],
  transferring: [0x2a, 0x7f, 0xd4],
  paused: [0xe0, 0xa8, 0x00],
  'no-peers': [0x88, 0x88, 0x88],
  error: [0xd0, 0x3a, 0x3a],
};

/**
 * The same state as a pixmap (IconPixmap: width, height, ARGB32 in network byte order), for
 * hosts without an icon theme (waybar, a bare window manager): a filled disc in the state's
 * colour, drawn here so nothing has to be installed.
 */
export function iconPixmap(state: BarState, size = 22): [number, number, Buffer] {
  const data = Buffer.alloc(size * size * 4);
  const [r, g, b] = COLORS[state];
  const c = (size - 1) / 2;
  const radius = size / 2 - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      // Anti-aliased edge: one pixel of falling alpha.
      const alpha = Math.round(255 * Math.max(0, Math.min(1, radius - d + 0.5)));
      const at = (y * size + x) * 4;
      data[at] = alpha;
      data[at + 1] = r;
      data[at + 2] = g;
      data[at + 3] = b;
    }
  }
  return [size, size, data];
}
