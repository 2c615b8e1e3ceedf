// Rewrites systemd/clipsync.service and launchd/com.clipsync.daemon.plist from the renderer that
// `clipsync service install` uses (src/service/), so the shipped copies never drift from it.
// Run after `npm run build`; test/unit/service/shipped-files.test.ts checks they are current.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { shippedFiles } from '../dist/service/shipped-files.js';

const root = fileURLToPath(new URL('..', import.meta.url));
for (const { path, content } of shippedFiles()) {
  writeFileSync(root + path, content);
  console.log(`wrote ${path}`);
}
