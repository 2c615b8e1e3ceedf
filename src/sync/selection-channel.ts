import type { Frame, FrameTypeValue } from '../wire/frame.js';
import type { ChannelClose, PeerChannel } from './ports.js';

/** X11 and Wayland keep two clips: CLIPBOARD, and PRIMARY (the mouse selection). */
export type SyncedSelection = 'clipboard' | 'primary';

/**
 * One peer connection carries the clip frames of both selections, each synced by its own
 * engine (its own current clip, transfers and clock), so that selecting text, which changes
 * PRIMARY all the time, never cancels a CLIPBOARD transfer. PRIMARY's frames carry
 * `"sel": "primary"` in their header (docs/PROTOCOL.md §5.5); frames without it are
 * CLIPBOARD's, as every daemon that does not sync PRIMARY sends them.
 */
export function selectionChannel(channel: PeerChannel, selection: SyncedSelection): PeerChannel {
  const mine = (frame: Frame): boolean => (frame.header['sel'] === 'primary') === (selection === 'primary');
  return {
    get isOpen() {
      return channel.isOpen;
    },
    get maxBodyBytes() {
      return channel.maxBodyBytes;
    },
    send(type: FrameTypeValue, header: object, body?: Buffer): Promise<void> {
      return channel.send(type, selection === 'primary' ? { ...header, sel: 'primary' } : header, body);
    },
    close(code: number, reason: string): void {
      channel.close(code, reason);
    },
    on(event: 'frame', listener: (frame: Frame) => void) {
      return channel.on(event, (frame: Frame) => {
        if (mine(frame)) listener(frame);
      });
    },
    once(event: 'close', listener: (info: ChannelClose) => void) {
      return channel.once(event, listener);
    },
  };
}
