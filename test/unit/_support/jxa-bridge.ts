import { runInNewContext } from 'node:vm';

/**
 * A scripted stand-in for the slice of JXA's Objective-C bridge (`ObjC`, `$`) the pasteboard
 * helper uses, so its JavaScript can run under Node: an in-memory NSPasteboard, stdin fed in
 * chunks, stdout collected. It checks the script's own logic and its protocol, not the real
 * bridge's semantics (those need a Mac). The run loop is the driver: each time the script waits
 * in `runModeBeforeDate`, the next step runs; when none are left the run ends.
 */

function yes(): boolean {
  return true;
}
function no(): boolean {
  return false;
}
const nil = { isNil: yes, js: undefined };

class NSData {
  constructor(readonly buf: Buffer) {}
  isNil = no;
  get length(): number {
    return this.buf.length;
  }
  base64EncodedStringWithOptions = () => str(this.buf.toString('base64'));
  isEqualToData = (other: NSData) => this.buf.equals(other.buf);
}
const str = (s: string) => ({ isNil: no, js: s, dataUsingEncoding: () => new NSData(Buffer.from(s, 'utf8')) });

class Item {
  readonly types = new Map<string, Buffer>();
  isNil = no;
  setDataForType = (data: NSData, uti: string) => void this.types.set(uti, data.buf);
  setStringForType = (s: string, uti: string) => void this.types.set(uti, Buffer.from(s));
  stringForType = (uti: string) => (this.types.has(uti) ? str(this.types.get(uti)!.toString()) : nil);
}

class StopRun extends Error {}

export class JxaBridge {
  changeCount = 10;
  items: Item[] = [];
  /** TIFF → PNG conversions the script asked for. */
  conversions = 0;
  readonly out: string[] = [];
  exitCode: number | undefined;
  private readonly chunks: Buffer[] = [];
  private waitingForInput = false;
  private observer: { 'inputReady:'?: () => void } = {};

  /** Another app copies: one item with these UTIs. */
  copy(types: Record<string, string | Buffer>): void {
    const item = new Item();
    for (const [uti, v] of Object.entries(types)) item.types.set(uti, Buffer.from(v));
    this.items = [item];
    this.changeCount++;
  }

  /** Runs the script through `steps`, one per run-loop wait; returns the lines it printed. */
  run(source: string, steps: (() => void)[]): string[] {
    const queue = [...steps];
    const bridge = this;
    const runLoop = {
      runModeBeforeDate: () => {
        const step = queue.shift();
        if (step === undefined) throw new StopRun();
        step();
        // The notification arrives only if the script asked for it and there is input.
        if (bridge.waitingForInput && bridge.chunks.length > 0) {
          bridge.waitingForInput = false;
          bridge.observer['inputReady:']?.();
        }
      },
    };
    const pasteboard = {
      get changeCount() {
        return bridge.changeCount;
      },
      get types() {
        return bridge.items.length === 0 ? nil : { isNil: no, list: [...new Set(bridge.items.flatMap((i) => [...i.types.keys()]))] };
      },
      get clearContents() {
        bridge.items = [];
        return ++bridge.changeCount;
      },
      get pasteboardItems() {
        return { count: bridge.items.length, objectAtIndex: (i: number) => bridge.items[i] };
      },
      stringForType: (uti: string) => bridge.items[0]?.stringForType(uti) ?? nil,
      dataForType: (uti: string) => (bridge.items[0]?.types.has(uti) ? new NSData(bridge.items[0].types.get(uti)!) : nil),
      writeObjects: (objects: { list: Item[] }) => {
        bridge.items = objects.list;
        return true;
      },
    };
    const $ = Object.assign((v?: unknown) => (v === undefined ? nil : Array.isArray(v) ? { isNil: no, list: v } : str(String(v))), {
      NSUTF8StringEncoding: 4,
      NSDefaultRunLoopMode: 'kCFRunLoopDefaultMode',
      NSFileHandleDataAvailableNotification: 'NSFileHandleDataAvailableNotification',
      NSPasteboard: { generalPasteboard: pasteboard },
      NSPasteboardItem: { alloc: { get init() { return new Item(); } } },
      NSData: { alloc: { initWithBase64EncodedStringOptions: (s: string) => new NSData(Buffer.from(s, 'base64')) } },
      NSString: { alloc: { initWithDataEncoding: (d: NSData) => str(d.buf.toString('utf8')) } },
      NSDictionary: { dictionary: {} },
      NSDate: { dateWithTimeIntervalSinceNow: () => ({}) },
      NSRunLoop: { currentRunLoop: runLoop },
      NSTimer: { scheduledTimerWithTimeIntervalTargetSelectorUserInfoRepeats: () => ({}) },
      NSNotificationCenter: { defaultCenter: { addObserverSelectorNameObject: () => undefined } },
      NSBitmapImageRep: {
        imageRepWithData: (tiff: NSData) => ({
          isNil: no,
          representationUsingTypeProperties: (type: number) => {
            bridge.conversions++;
            return new NSData(Buffer.concat([Buffer.from(`PNG${type}:`), tiff.buf]));
          },
        }),
      },
      NSFileHandle: {
        fileHandleWithStandardInput: {
          get availableData() {
            return new NSData(bridge.chunks.shift() ?? Buffer.alloc(0));
          },
          get waitForDataInBackgroundAndNotify() {
            bridge.waitingForInput = true;
            return undefined;
          },
        },
        fileHandleWithStandardOutput: { writeData: (d: NSData) => void bridge.out.push(...d.buf.toString().split('\n').filter(Boolean)) },
      },
      exit: (code: number) => {
        bridge.exitCode = code;
        throw new StopRun();
      },
    });
    const ObjC = {
      import: () => undefined,
      deepUnwrap: (v: { isNil(): boolean; list?: unknown[] }) => (v.isNil() ? undefined : v.list),
      registerSubclass: (def: { name: string; methods: Record<string, { implementation: () => void }> }) => {
        const instance = Object.fromEntries(Object.entries(def.methods).map(([sel, m]) => [sel, m.implementation]));
        bridge.observer = instance;
        ($ as unknown as Record<string, unknown>)[def.name] = { alloc: { init: instance } };
      },
    };
    try {
      runInNewContext(source, { ObjC, $ });
    } catch (err) {
      if (!(err instanceof StopRun) && !(err instanceof Error && err.constructor.name === 'StopRun')) throw err;
    }
    return this.out;
  }

  /** The daemon writes to the script's stdin (delivered at the next run-loop wait). */
  input(bytes: string | Buffer): void {
    this.chunks.push(Buffer.from(bytes));
  }
}
