import { existsSync } from 'node:fs';
import { CLI_ENTRY } from './cli.js';

/** Integration tests run the built CLI (`npm test` builds first); say so plainly if it is missing. */
export default function setup(): void {
  if (!existsSync(CLI_ENTRY)) {
    throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` first (npm test does it for you)`);
  }
}
