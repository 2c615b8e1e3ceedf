import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as dbus from '@jellybrick/dbus-next';

/** A private session bus (`dbus-daemon --session`) for one test, and its address. */
export class SessionBus {
  private constructor(
    readonly address: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(): Promise<SessionBus> {
    const proc = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const address = await new Promise<string>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
      createInterface({ input: proc.stdout! }).once('line', (line) => resolve(line.trim()));
    });
    return new SessionBus(address, proc);
  }

  connect(): dbus.MessageBus {
    return dbus.sessionBus({ busAddress: this.address });
  }

  stop(): void {
    this.proc.kill();
  }
}

export interface NotifyCall {
  app: string;
  icon: string;
  summary: string;
  body: string;
}

/** A notification server (org.freedesktop.Notifications) on the bus that records what it is asked to show. */
export async function startNotificationServer(bus: SessionBus): Promise<{ calls: NotifyCall[]; wait: (match: (c: NotifyCall) => boolean, what: string) => Promise<NotifyCall>; stop: () => void }> {
  const conn = bus.connect();
  const calls: NotifyCall[] = [];
  const wakers = new Set<() => void>();
  conn.addMethodHandler((msg: dbus.Message) => {
    if (msg.interface !== 'org.freedesktop.Notifications') return false;
    if (msg.member === 'Notify') {
      const [app, , icon, summary, body] = msg.body as [string, number, string, string, string];
      calls.push({ app, icon, summary, body });
      conn.send(dbus.Message.newMethodReturn(msg, 'u', [calls.length]));
      for (const wake of wakers) wake();
      return true;
    }
    if (msg.member === 'GetCapabilities') {
      conn.send(dbus.Message.newMethodReturn(msg, 'as', [['body']]));
      return true;
    }
    if (msg.member === 'GetServerInformation') {
      conn.send(dbus.Message.newMethodReturn(msg, 'ssss', ['clipsync-test', 'clipsync', '1', '1.2']));
      return true;
    }
    return false;
  });
  await conn.requestName('org.freedesktop.Notifications', 0);
  const wait = (match: (c: NotifyCall) => boolean, what: string): Promise<NotifyCall> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        wakers.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(calls)}`));
      }, 30_000);
      const check = (): void => {
        const found = calls.find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        wakers.delete(check);
        resolve(found);
      };
      wakers.add(check);
      check();
    });
  return { calls, wait, stop: () => conn.disconnect() };
}
