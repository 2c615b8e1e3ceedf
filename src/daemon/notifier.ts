import { execFile } from 'node:child_process';
import type { Logger } from '../core/log.js';
import { messageOf } from '../core/errors.js';
import type { DaemonEvents, Notice, NoticeKind } from '../ipc/daemon-events.js';

/** How a notification reaches the desktop: D-Bus on Linux and the BSDs, osascript on macOS. */
export interface NotificationSink {
  send(summary: string, body: string): Promise<void>;
  close(): void;
}

/** After a notification could not be shown, the next try waits this long. */
const RETRY_AFTER_FAILURE_MS = 60_000;

const SUMMARIES: Record<NoticeKind, string> = {
  pairing: 'clipsync: pairing request',
  refused: 'clipsync: peer refused',
  failed: 'clipsync: clip failed',
  received: 'clipsync: clip received',
  sensitive: 'clipsync: secret copy kept here',
};

/**
 * Shows the notices the user asked for (config `notify`, read at each notice so a live config
 * change applies) as desktop notifications. The D-Bus library is loaded on the first one
 * only: a daemon that never notifies never pays for it. Without a session bus (or a notification
 * server) it says so once, carries on, and tries again a minute later: a notification is never
 * worth failing or slowing the daemon.
 */
export function notifyDesktop(
  events: DaemonEvents,
  wanted: () => readonly NoticeKind[],
  log: Logger,
  sink: () => NotificationSink = platformSink,
  now: () => number = Date.now,
): () => void {
  let open: NotificationSink | undefined;
  let retryAt = 0;
  let said = false;
  const unsubscribe = events.subscribe({
    notice: (notice: Notice) => {
      if (now() < retryAt || !wanted().includes(notice.kind)) return;
      open ??= sink();
      open.send(SUMMARIES[notice.kind], notice.message).catch((err: unknown) => {
        // Not there (no bus, no notification server yet): tried again with a later notice, a
        // minute on, on a fresh connection; said once, not at every try.
        retryAt = now() + RETRY_AFTER_FAILURE_MS;
        open?.close();
        open = undefined;
        if (said) return;
        said = true;
        log.info({ reason: messageOf(err) }, 'desktop notifications unavailable; notices still go to `clipsync status --watch` and the tray');
      });
    },
  });
  return () => {
    unsubscribe();
    open?.close();
  };
}

function platformSink(): NotificationSink {
  return process.platform === 'darwin' ? osascriptSink() : dbusSink(process.env['DBUS_SESSION_BUS_ADDRESS']);
}

/** `org.freedesktop.Notifications.Notify` on the session bus; the bus is opened on the first notification. */
export function dbusSink(address: string | undefined): NotificationSink {
  type Lib = typeof import('@jellybrick/dbus-next');
  let bus: Promise<{ dbus: Lib; opened: import('@jellybrick/dbus-next').MessageBus }> | undefined;
  const connect = async (): Promise<{ dbus: Lib; opened: import('@jellybrick/dbus-next').MessageBus }> => {
    if (address === undefined || address === '') throw new Error('no session bus (DBUS_SESSION_BUS_ADDRESS is not set)');
    const dbus = await import('@jellybrick/dbus-next');
    const opened = dbus.sessionBus({ busAddress: address });
    // A bus that drops later must not take the daemon down with an unhandled error.
    (opened as unknown as NodeJS.EventEmitter).on('error', () => undefined);
    return { dbus, opened };
  };
  return {
    async send(summary, body) {
      // Awaited first: a bus that cannot be reached is this call's error, never an unhandled one.
      const { dbus, opened } = await (bus ??= connect());
      const message = new dbus.Message({
        destination: 'org.freedesktop.Notifications',
        path: '/org/freedesktop/Notifications',
        interface: 'org.freedesktop.Notifications',
        member: 'Notify',
        signature: 'susssasa{sv}i',
        // app, replaces id, icon, summary, body, actions, hints, timeout (-1: the server's default)
        body: ['clipsync', 0, 'edit-paste', summary, body, [], { 'desktop-entry': new dbus.Variant('s', 'clipsync') }, -1],
      });
      await opened.call(message);
    },
    close() {
      void bus?.then((b) => b.opened.disconnect()).catch(() => undefined);
    },
  };
}

/** The AppleScript that shows a notification: strings quoted for AppleScript, not a shell. */
export function osascriptArgs(summary: string, body: string): string[] {
  const quote = (s: string): string => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return ['-e', `display notification ${quote(body)} with title ${quote(summary)}`];
}

function osascriptSink(): NotificationSink {
  return {
    send: (summary, body) =>
      new Promise((resolve, reject) => {
        execFile('osascript', osascriptArgs(summary, body), { timeout: 5000 }, (err) => (err ? reject(err) : resolve()));
      }),
    close: () => undefined,
  };
}
