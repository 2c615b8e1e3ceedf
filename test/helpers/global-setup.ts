import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What bin/clipsync.cjs runs: both builds of `npm run build`. */
const BUILT = ['../../dist/cli/main.js', '../../dist/client/cli/client-main.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/** Integration tests run the built CLI (`npm test` builds first); say so plainly if it is missing. */
export default function setup(): void {
  for (const file of BUILT) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does it for you)`);
  }
}
