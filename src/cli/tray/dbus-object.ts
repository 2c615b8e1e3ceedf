import type * as DBus from '@jellybrick/dbus-next';

type Lib = typeof DBus;

/** One method of an exported interface: D-Bus signatures in and out, and what it does. */
export interface MethodSpec {
  in: string;
  out: string;
  call: (...args: unknown[]) => unknown[] | Promise<unknown[]>;
}

export interface PropertySpec {
  signature: string;
  get: () => unknown;
}

export interface InterfaceSpec {
  methods: Record<string, MethodSpec>;
  properties: Record<string, PropertySpec>;
  /** Signal name → signature (for introspection; emitted with `ExportedObject.signal`). */
  signals: Record<string, string>;
}

/**
 * An object exported on the bus from plain specs, answering its methods, the standard
 * Properties (Get, GetAll) and Introspectable interfaces. Built on the message level of
 * dbus-next, which is small and dependable, rather than on its class-based interfaces.
 */
export class ExportedObject {
  private readonly handler: (msg: DBus.Message) => boolean;

  constructor(
    private readonly dbus: Lib,
    private readonly bus: DBus.MessageBus,
    readonly path: string,
    private readonly interfaces: Record<string, InterfaceSpec>,
  ) {
    this.handler = (msg) => this.handle(msg);
    bus.addMethodHandler(this.handler);
  }

  /** Emits `name` of `iface` from this object. */
  signal(iface: string, name: string, body: unknown[] = []): void {
    this.bus.send(this.dbus.Message.newSignal(this.path, iface, name, this.interfaces[iface]?.signals[name] ?? '', body));
  }

  close(): void {
    this.bus.removeMethodHandler(this.handler);
  }

  private handle(msg: DBus.Message): boolean {
    if (msg.path !== this.path) return false;
    const { Message, Variant } = this.dbus;
    const reply = (signature: string, body: unknown[]): boolean => {
      this.bus.send(Message.newMethodReturn(msg, signature, body));
      return true;
    };
    const error = (name: string, text: string): boolean => {
      this.bus.send(Message.newError(msg, name, text));
      return true;
    };
    if (msg.interface === 'org.freedesktop.DBus.Introspectable' && msg.member === 'Introspect') return reply('s', [this.introspect()]);
    if (msg.interface === 'org.freedesktop.DBus.Properties') {
      const [ifaceName, prop] = msg.body as [string, string | undefined];
      const spec = this.interfaces[ifaceName];
      if (spec === undefined) return error('org.freedesktop.DBus.Error.UnknownInterface', `no interface ${ifaceName}`);
      if (msg.member === 'GetAll') {
        const all: Record<string, unknown> = {};
        for (const [name, p] of Object.entries(spec.properties)) all[name] = new Variant(p.signature, p.get());
        return reply('a{sv}', [all]);
      }
      if (msg.member === 'Get') {
        const p = prop === undefined ? undefined : spec.properties[prop];
        if (p === undefined) return error('org.freedesktop.DBus.Error.UnknownProperty', `no property ${prop}`);
        return reply('v', [new Variant(p.signature, p.get())]);
      }
      if (msg.member === 'Set') return error('org.freedesktop.DBus.Error.PropertyReadOnly', 'read-only');
      return false;
    }
    const method = msg.interface === undefined ? undefined : this.interfaces[msg.interface]?.methods[msg.member ?? ''];
    if (method === undefined) return false;
    Promise.resolve()
      .then(() => method.call(...(msg.body as unknown[])))
      .then(
        (out) => reply(method.out, out),
        (err: unknown) => error('org.clipsync.Error', err instanceof Error ? err.message : String(err)),
      );
    return true;
  }

  private introspect(): string {
    const parts = ['<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">', '<node>'];
    for (const [name, spec] of Object.entries(this.interfaces)) {
      parts.push(`  <interface name="${name}">`);
      for (const [m, s] of Object.entries(spec.methods)) {
        parts.push(`    <method name="${m}">`);
        for (const t of splitSignature(s.in)) parts.push(`      <arg type="${t}" direction="in"/>`);
        for (const t of splitSignature(s.out)) parts.push(`      <arg type="${t}" direction="out"/>`);
        parts.push('    </method>');
      }
      for (const [p, s] of Object.entries(spec.properties)) parts.push(`    <property name="${p}" type="${s.signature}" access="read"/>`);
      for (const [sig, types] of Object.entries(spec.signals)) {
        parts.push(`    <signal name="${sig}">`);
        for (const t of splitSignature(types)) parts.push(`      <arg type="${t}"/>`);
        parts.push('    </signal>');
      }
      parts.push('  </interface>');
    }
    parts.push('</node>');
    return parts.join('\n');
  }
}

/** Splits a signature into its complete types: `ia{sv}av` → `i`, `a{sv}`, `av`. */
export function splitSignature(signature: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = signature[i++];
    if (c === 'a') one();
    else if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (signature[i] !== close) one();
      i++;
    }
  };
  while (i < signature.length) {
    const start = i;
    one();
    out.push(signature.slice(start, i));
  }
  return out;
}
