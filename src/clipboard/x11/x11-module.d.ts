/**
 * The slice of the `x11` package (pure JS, no bundled types) that the X11 backend uses. Only what
 * is called is declared, so a mistake in an argument order shows up at compile time.
 */
declare module 'x11' {
  import type { Duplex } from 'node:stream';

  export interface XError extends Error {
    error: number;
    seq: number;
    badParam: number;
    majorOpcode: number;
    minorOpcode: number;
  }

  /** Core and extension events as the package unpacks them; fields depend on `name`/`type`. */
  export interface XEvent {
    type: number;
    name: string;
    seq: number;
    time?: number;
    wid?: number;
    window?: number;
    atom?: number;
    state?: number;
    owner?: number;
    requestor?: number;
    selection?: number;
    target?: number;
    property?: number;
    subtype?: number;
    timestamp?: number;
    selectionTimestamp?: number;
  }

  export interface XScreen {
    root: number;
  }

  export interface XDisplay {
    screen: XScreen[];
    /** In 4-byte units: the handshake's value, replaced by BIG-REQUESTS' when that is enabled. */
    max_request_length: number;
    client: XClient;
  }

  export interface FixesExt {
    firstEvent: number;
    major: number;
    minor: number;
    SelectionEventMask: { SetSelectionOwner: number; SelectionWindowDestroy: number; SelectionClientClose: number };
    SelectSelectionInput(window: number, selection: number, eventMask: number): void;
  }

  export interface PropertyReply {
    type: number;
    format: number;
    bytesAfter: number;
    data: Buffer;
  }

  type Cb<T> = (err: XError | null | undefined, value: T) => unknown;
  type VoidCb = (err: XError | null | undefined) => unknown;

  export interface XClient {
    display: XDisplay;
    on(event: 'event', fn: (ev: XEvent) => void): this;
    on(event: 'error', fn: (err: Error) => void): this;
    on(event: 'end' | 'close', fn: () => void): this;
    removeAllListeners(event?: string): this;
    AllocID(): number;
    require(name: 'fixes', cb: (err: Error | null, ext: FixesExt) => void): void;
    CreateWindow(
      id: number,
      parent: number,
      x: number,
      y: number,
      width: number,
      height: number,
      borderWidth: number,
      depth: number,
      klass: number,
      visual: number,
      values: { eventMask?: number },
      cb?: VoidCb,
    ): void;
    ChangeWindowAttributes(wid: number, values: { eventMask?: number }, cb?: VoidCb): void;
    InternAtom(onlyIfExists: boolean, name: string, cb: Cb<number>): void;
    GetAtomName(atom: number, cb: Cb<string>): void;
    ChangeProperty(
      mode: number,
      wid: number,
      property: number,
      type: number,
      format: 8 | 16 | 32,
      data: Buffer | number[],
      cb?: VoidCb,
    ): boolean;
    DeleteProperty(wid: number, property: number, cb?: VoidCb): void;
    GetProperty(
      del: number,
      wid: number,
      property: number,
      type: number,
      longOffset: number,
      longLength: number,
      cb: Cb<PropertyReply>,
    ): void;
    SetSelectionOwner(owner: number, selection: number, time: number, cb?: VoidCb): void;
    GetSelectionOwner(selection: number, cb: Cb<number>): void;
    ConvertSelection(requestor: number, selection: number, target: number, property: number, time: number, cb?: VoidCb): void;
    SendEvent(destination: number, propagate: number, eventMask: number, event: Record<string, unknown>, cb?: VoidCb): void;
    GetInputFocus(cb: Cb<unknown>): void;
    terminate(): void;
  }

  export interface CreateClientOptions {
    display?: string;
    stream?: Duplex;
    /** Present but undefined: the package reads ~/.Xauthority even for an injected stream. */
    auth?: { name: string; data: string } | undefined;
    disableBigRequests?: boolean;
  }

  export function createClient(options: CreateClientOptions, cb: (err: Error | undefined, display: XDisplay) => void): XClient;
  export function parseDisplay(display: string): {
    protocol: string;
    host: string;
    displayNum: string | number;
    screenNum: string | number;
  };

  export const eventMask: { PropertyChange: number };

  const x11: {
    createClient: typeof createClient;
    parseDisplay: typeof parseDisplay;
    eventMask: typeof eventMask;
  };
  export default x11;
}
