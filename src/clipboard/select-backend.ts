import type { ClipboardChoice } from '../core/config/config.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClipboardBackend } from './backend.js';
import { MemoryBackend } from './memory-backend.js';
import { SystemBackend } from './system-backend.js';

/** `auto` uses the system clipboard when a read works, else memory; `system` insists on it. */
export async function selectBackend(choice: ClipboardChoice, log: Logger): Promise<ClipboardBackend> {
  if (choice === 'memory') return new MemoryBackend();
  if (choice === 'system') {
    await SystemBackend.probe();
    return new SystemBackend();
  }
  try {
    await SystemBackend.probe();
    return new SystemBackend();
  } catch (err) {
    log.warn({ reason: messageOf(err) }, 'no system clipboard; using the memory clipboard (clipsync copy/paste)');
    return new MemoryBackend();
  }
}
