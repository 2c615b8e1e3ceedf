import type { ClipboardBackend } from './backend.js';

/**
 * For headless machines: the daemon's current clip is the clipboard, read with
 * `clipsync paste` and set with `clipsync copy`. Nothing to read or write besides.
 */
export class MemoryBackend implements ClipboardBackend {
  readonly kind = 'memory' as const;
  readonly hasEvents = false;
  readonly servesLazily = false;

  constructor(readonly reason: string) {}

  async start(): Promise<void> {}
  async read(): Promise<null> {
    return null;
  }
  async write(): Promise<'written'> {
    return 'written';
  }
  async stop(): Promise<void> {}
}
