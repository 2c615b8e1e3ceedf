import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A fresh directory under /tmp. Short on purpose: control and peer sockets live inside, and
 * Unix socket paths are limited to ~107 bytes.
 */
export function makeTempDir(prefix = 'cs-'): string {
  return mkdtempSync(join('/tmp', prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
