import { fail } from '../core/errors.js';

/**
 * Every clipboard call has a deadline: a frozen clipboard owner or a stuck tool must never
 * hold the daemon up. The late result, if it ever comes, is dropped.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, doing: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(fail('CLIPSYNC_ERR_CLIPBOARD', `${doing} did not finish within ${ms} ms`, { hint: 'the app that owns the clipboard may be frozen; copy again' })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}
