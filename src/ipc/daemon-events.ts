import type { NotifyKind } from '../core/config/config.js';
import type { PairingInfo } from '../pairing/pairing-types.js';

/** Something worth telling a person (a notification, a line in the tray), by kind. */
export type NoticeKind = NotifyKind;

export interface Notice {
  kind: NoticeKind;
  message: string;
  peer?: string;
  name?: string;
}

export interface DaemonEventListeners {
  /** Something `GET /v1/status` shows may have changed: read it again. */
  changed?: () => void;
  pairing?: (request: PairingInfo) => void;
  notice?: (notice: Notice) => void;
}

/**
 * The daemon's own events, for whoever follows it live (`GET /v1/watch`: status bars, the
 * tray; notifications). Parts call `changed()` / `notice()`; with nobody listening these cost
 * a loop over an empty set.
 */
export class DaemonEvents {
  private readonly listeners = new Set<DaemonEventListeners>();

  subscribe(listeners: DaemonEventListeners): () => void {
    this.listeners.add(listeners);
    return () => this.listeners.delete(listeners);
  }

  get watched(): boolean {
    return this.listeners.size > 0;
  }

  changed(): void {
    for (const l of this.listeners) l.changed?.();
  }

  pairing(request: PairingInfo): void {
    for (const l of this.listeners) l.pairing?.(request);
  }

  notice(notice: Notice): void {
    for (const l of this.listeners) l.notice?.(notice);
  }
}
