import { spawn } from 'node:child_process';
import type * as DBus from '@jellybrick/dbus-next';
import type { IpcClient } from '../../ipc/client.js';
import type { StatusResponse } from '../../ipc/schema.js';
import { followDaemon } from '../follow-daemon.js';
import type { PairingInfo } from '../../pairing/pairing-types.js';
import type { HistoryItem } from '../../sync/clip-history.js';
import { describeLines } from '../status-formats.js';
import { ExportedObject } from './dbus-object.js';
import { ICON_NAMES, iconPixmap } from './icons.js';
import { buildMenu, findItem, summary, trayState, type MenuItem, type TrayAction, type TrayState } from './menu-model.js';

const ITEM_PATH = '/StatusNotifierItem';
const MENU_PATH = '/MenuBar';
const SNI = 'org.kde.StatusNotifierItem';
const MENU = 'com.canonical.dbusmenu';
const WATCHER = 'org.kde.StatusNotifierWatcher';

export interface TrayOptions {
  busAddress: string;
  client: IpcClient;
  log: (message: string) => void;
  /** Quit from the menu (or a signal): the command exits. */
  onQuit: () => void;
}

/**
 * `clipsync tray`: a StatusNotifierItem with a dbusmenu menu on the session bus, fed live by
 * the daemon's event stream (GET /v1/watch) and acting only through the control socket.
 */
export class TrayApp {
  private state: TrayState = { status: null, history: [], pairing: [] };
  private menu: MenuItem = buildMenu(this.state);
  private layoutText = JSON.stringify(this.menu);
  private revision = 1;
  private iconKey = '';
  private stopped = false;
  private lastClip: string | null | undefined;
  private bus!: DBus.MessageBus;
  private dbus!: typeof DBus;
  private item!: ExportedObject;
  private menuObject!: ExportedObject;
  readonly serviceName = `org.kde.StatusNotifierItem-${process.pid}-1`;

  constructor(private readonly options: TrayOptions) {}

  async start(): Promise<void> {
    this.dbus = await import('@jellybrick/dbus-next');
    this.bus = this.dbus.sessionBus({ busAddress: this.options.busAddress });
    (this.bus as unknown as NodeJS.EventEmitter).on('error', (err: Error) => {
      this.options.log(`session bus: ${err.message}`);
      this.options.onQuit();
    });
    this.exportItem();
    this.exportMenu();
    await this.bus.requestName(this.serviceName, 0);
    await this.followWatcher();
    void this.followDaemon();
  }

  stop(): void {
    this.stopped = true;
    this.item?.close();
    this.menuObject?.close();
    this.bus?.disconnect();
  }

  private exportItem(): void {
    const pixmaps = (): unknown[] => [iconPixmap(trayState(this.state), 22), iconPixmap(trayState(this.state), 44)];
    this.item = new ExportedObject(this.dbus, this.bus, ITEM_PATH, {
      [SNI]: {
        methods: {
          Activate: { in: 'ii', out: '', call: () => [] },
          SecondaryActivate: { in: 'ii', out: '', call: () => [] },
          ContextMenu: { in: 'ii', out: '', call: () => [] },
          Scroll: { in: 'is', out: '', call: () => [] },
        },
        properties: {
          Category: { signature: 's', get: () => 'ApplicationStatus' },
          Id: { signature: 's', get: () => 'clipsync' },
          Title: { signature: 's', get: () => 'clipsync' },
          Status: { signature: 's', get: () => this.itemStatus() },
          WindowId: { signature: 'i', get: () => 0 },
          IconName: { signature: 's', get: () => ICON_NAMES[trayState(this.state)] },
          IconPixmap: { signature: 'a(iiay)', get: pixmaps },
          OverlayIconName: { signature: 's', get: () => '' },
          AttentionIconName: { signature: 's', get: () => 'dialog-question' },
          ToolTip: { signature: '(sa(iiay)ss)', get: () => ['', [], `clipsync: ${summary(this.state)}`, describeLines(this.state.status).join('\n')] },
          ItemIsMenu: { signature: 'b', get: () => true },
          Menu: { signature: 'o', get: () => MENU_PATH },
        },
        signals: { NewTitle: '', NewIcon: '', NewAttentionIcon: '', NewToolTip: '', NewStatus: 's' },
      },
    });
  }

  /** Active normally; NeedsAttention while a pairing request waits for this side. */
  private itemStatus(): string {
    return (this.state.status?.pairingPending ?? 0) > 0 ? 'NeedsAttention' : 'Active';
  }

  private exportMenu(): void {
    this.menuObject = new ExportedObject(this.dbus, this.bus, MENU_PATH, {
      [MENU]: {
        methods: {
          GetLayout: { in: 'iias', out: 'u(ia{sv}av)', call: (parent, depth) => [this.revision, this.layout(findItem(this.menu, parent as number) ?? this.menu, depth as number)] },
          GetGroupProperties: {
            in: 'aias',
            out: 'a(ia{sv})',
            call: (ids) => [(ids as number[]).flatMap((id) => (findItem(this.menu, id) === undefined ? [] : [[id, this.props(findItem(this.menu, id)!)]]))],
          },
          GetProperty: {
            in: 'is',
            out: 'v',
            call: (id, name) => {
              const props = this.props(findItem(this.menu, id as number) ?? this.menu);
              const value = props[name as string];
              if (value === undefined) throw new Error(`no property ${String(name)}`);
              return [value];
            },
          },
          Event: { in: 'isvu', out: '', call: (id, eventId) => (this.onEvent(id as number, eventId as string), []) },
          EventGroup: {
            in: 'a(isvu)',
            out: 'ai',
            call: (events) => {
              for (const [id, eventId] of events as [number, string][]) this.onEvent(id, eventId);
              return [[]];
            },
          },
          AboutToShow: { in: 'i', out: 'b', call: () => [false] },
          AboutToShowGroup: { in: 'ai', out: 'aiai', call: () => [[], []] },
        },
        properties: {
          Version: { signature: 'u', get: () => 3 },
          TextDirection: { signature: 's', get: () => 'ltr' },
          Status: { signature: 's', get: () => 'normal' },
          IconThemePath: { signature: 'as', get: () => [] },
        },
        signals: { LayoutUpdated: 'ui', ItemsPropertiesUpdated: 'a(ia{sv})a(ias)', ItemActivationRequested: 'iu' },
      },
    });
  }

  /** A menu item as dbusmenu's (ia{sv}av): id, properties, children as variants. */
  private layout(item: MenuItem, depth: number): unknown[] {
    const children = depth === 0 ? [] : (item.children ?? []).map((c) => new this.dbus.Variant('(ia{sv}av)', this.layout(c, depth < 0 ? -1 : depth - 1)));
    return [item.id, this.props(item), children];
  }

  private props(item: MenuItem): Record<string, DBus.Variant> {
    const { Variant } = this.dbus;
    const props: Record<string, DBus.Variant> = {};
    if (item.type === 'separator') props['type'] = new Variant('s', 'separator');
    if (item.label !== undefined) props['label'] = new Variant('s', item.label);
    if (item.enabled === false) props['enabled'] = new Variant('b', false);
    if (item.children !== undefined && item.id !== 0) props['children-display'] = new Variant('s', 'submenu');
    return props;
  }

  private onEvent(id: number, eventId: string): void {
    if (eventId !== 'clicked') return;
    const action = findItem(this.menu, id)?.action;
    if (action !== undefined) void this.perform(action);
  }

  private async perform(action: TrayAction): Promise<void> {
    const { client } = this.options;
    try {
      switch (action.kind) {
        case 'history-get':
          await client.json({ method: 'POST', path: '/v1/history/get', query: { n: String(action.n) } });
          return;
        case 'pause':
          await client.json({ method: 'POST', path: '/v1/pause', query: action.seconds === undefined ? {} : { for: String(action.seconds) } });
          return;
        case 'resume':
          await client.json({ method: 'POST', path: '/v1/resume' });
          return;
        case 'accept':
          await client.json({ method: 'POST', path: '/v1/pair/accept', query: { peer: action.peer } });
          await this.refreshPairing();
          return;
        case 'reject':
          await client.json({ method: 'POST', path: '/v1/pair/reject', query: { peer: action.peer } });
          await this.refreshPairing();
          return;
        case 'open-log':
          openLog(this.options.log);
          return;
        case 'quit':
          this.options.onQuit();
          return;
      }
    } catch (err) {
      this.options.log(`${action.kind}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Registers with the host's watcher now, and again whenever a watcher (re)appears. */
  private async followWatcher(): Promise<void> {
    const register = async (): Promise<void> => {
      try {
        await this.bus.call(
          new this.dbus.Message({ destination: WATCHER, path: '/StatusNotifierWatcher', interface: WATCHER, member: 'RegisterStatusNotifierItem', signature: 's', body: [this.serviceName] }),
        );
        this.options.log(`registered with ${WATCHER} as ${this.serviceName}`);
      } catch (err) {
        this.options.log(`no ${WATCHER} yet (${err instanceof Error ? err.message : String(err)}); waiting for one`);
      }
    };
    await this.bus.call(
      new this.dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        signature: 's',
        body: [`type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${WATCHER}'`],
      }),
    );
    this.bus.on('message', (msg: DBus.Message) => {
      if (msg.member !== 'NameOwnerChanged' || msg.interface !== 'org.freedesktop.DBus') return;
      const [name, , owner] = msg.body as [string, string, string];
      if (name === WATCHER && owner !== '') void register();
    });
    await register();
  }

  /** Follows the daemon's event stream; while it is not running, the icon says so. */
  private async followDaemon(): Promise<void> {
    await followDaemon(this.options.client, {
      line: async (line) => {
        if (line.event === 'status') await this.onStatus(line.status);
        else if (line.event === 'pairing') await this.refreshPairing();
      },
      down: () => {
        this.state = { status: null, history: [], pairing: [] };
        this.lastClip = undefined;
        this.update();
      },
      stopped: () => this.stopped,
    });
  }

  private async onStatus(status: StatusResponse): Promise<void> {
    const clip = status.clip?.id ?? null;
    this.state = { ...this.state, status };
    if (clip !== this.lastClip) {
      this.lastClip = clip;
      this.state.history = await this.options.client.json<HistoryItem[]>({ method: 'GET', path: '/v1/history' }).catch(() => []);
    }
    if (status.pairingPending > 0 || this.state.pairing.length > 0) await this.refreshPairing();
    this.update();
  }

  private async refreshPairing(): Promise<void> {
    this.state.pairing = await this.options.client.json<PairingInfo[]>({ method: 'GET', path: '/v1/pair/pending' }).catch(() => []);
    this.update();
  }

  /** Tells the host what changed: a new layout (LayoutUpdated), a new icon, tooltip or status. */
  private update(): void {
    this.menu = buildMenu(this.state);
    const text = JSON.stringify(this.menu);
    if (text !== this.layoutText) {
      this.layoutText = text;
      this.revision++;
      this.menuObject.signal(MENU, 'LayoutUpdated', [this.revision, 0]);
    }
    const key = `${trayState(this.state)} ${this.itemStatus()} ${summary(this.state)}`;
    if (key !== this.iconKey) {
      this.iconKey = key;
      this.item.signal(SNI, 'NewIcon');
      this.item.signal(SNI, 'NewToolTip');
      this.item.signal(SNI, 'NewStatus', [this.itemStatus()]);
    }
  }
}

/** "Open log": the daemon's journal in a terminal (the service's log), else its launchd log. */
function openLog(log: (message: string) => void): void {
  const command = process.platform === 'darwin' ? ['open', '-a', 'Console', `${process.env['HOME'] ?? ''}/Library/Logs/clipsync`] : ['x-terminal-emulator', '-e', 'journalctl', '--user', '-u', 'clipsync', '-f'];
  const child = spawn(command[0]!, command.slice(1), { detached: true, stdio: 'ignore' });
  child.on('error', (err) => log(`open log: ${command.join(' ')}: ${err.message}`));
  child.unref();
}
