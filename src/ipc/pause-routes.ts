import { fail } from '../core/errors.js';
import type { PauseInfo } from '../sync/pause-state.js';
import type { RouteTable } from './server.js';

/** The pause as the control API drives it (sync/pause-state.ts). */
export interface PauseDesk {
  info(): PauseInfo | null;
  pause(forMs?: number): PauseInfo;
  resume(): void;
}

/** `clipsync pause [--for D]` and `clipsync resume`. */
export function pauseRoutes(pause: PauseDesk): RouteTable {
  return {
    'POST /v1/pause': async ({ query }) => {
      const raw = query.get('for');
      if (raw === null) return { paused: pause.pause() };
      const seconds = raw.trim() === '' ? NaN : Number(raw);
      if (!(Number.isFinite(seconds) && seconds > 0)) {
        throw fail('CLIPSYNC_ERR_USAGE', `pause for "${raw}" seconds: not a positive number`, { hint: 'give ?for=SECONDS (fractions allowed), or no for= to pause until resumed' });
      }
      return { paused: pause.pause(seconds * 1000) };
    },

    'POST /v1/resume': async () => {
      pause.resume();
      return { paused: null };
    },
  };
}
