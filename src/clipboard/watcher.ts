import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClipboardBackend, ClipboardContent } from './backend.js';

/**
 * Notices copies made on this machine by polling the backend: clipboards offer no portable
 * change notification. What clipsync itself wrote is remembered so it is not taken for a
 * new local copy (that would echo every received clip back out).
 */
export class ClipboardWatcher {
  private lastSeen: Buffer | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private failing = false;
  /** Set when clipsync wrote the clipboard and no poll has read that back yet. */
  private ownWritePending = false;

  constructor(
    private readonly backend: ClipboardBackend,
    private readonly intervalMs: number,
    private readonly onChange: (content: ClipboardContent, initial: boolean) => void,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  async start(): Promise<void> {
    await this.pollOnce(true);
    const tick = (): void => {
      if (this.stopped) return;
      this.timer = this.clock.setTimeout(() => void this.pollNow().finally(tick), this.intervalMs);
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Records what clipsync put on the clipboard itself. */
  noteWritten(data: Buffer): void {
    this.lastSeen = data;
    this.ownWritePending = true;
  }

  /** Polls now (e.g. before answering `paste`), sharing a poll already under way. */
  pollNow(): Promise<void> {
    this.polling ??= this.pollOnce(false).finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(initial: boolean): Promise<void> {
    let content: ClipboardContent | null;
    try {
      content = await this.backend.read();
    } catch (err) {
      if (!this.failing) this.log.warn({ reason: messageOf(err) }, 'cannot read the system clipboard');
      this.failing = true;
      return;
    }
    if (this.failing) this.log.info('system clipboard readable again');
    this.failing = false;
    if (content === null) return;
    if (this.lastSeen !== undefined && this.lastSeen.equals(content.data)) {
      if (this.ownWritePending) this.log.debug({ size: content.data.length }, 'own write read back from the clipboard; not a new copy');
      this.ownWritePending = false;
      return;
    }
    this.ownWritePending = false;
    this.lastSeen = content.data;
    this.onChange(content, initial);
  }
}
