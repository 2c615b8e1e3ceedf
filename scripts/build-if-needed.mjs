#!/usr/bin/env node
// npm `prestart` hook. dist/ is gitignored, so on a fresh clone
// `npm install && npm start` would fail with "Cannot find module
// dist/cli/main.js". This compiles with tsc only when the output is missing
// or stale, so repeated `npm start` stays fast. No dependencies on purpose:
// it must run before anything is built.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'dist', 'cli', 'main.js');
const clientOutput = join(root, 'dist', 'client', 'cli', 'client-main.js');
const tsconfig = join(root, 'tsconfig.json');

function newestTsMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestTsMtime(p));
    else if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function needsBuild() {
  if (!existsSync(output) || !existsSync(clientOutput)) return true;
  const builtAt = Math.min(statSync(output).mtimeMs, statSync(clientOutput).mtimeMs);
  const tsconfigAt = existsSync(tsconfig) ? statSync(tsconfig).mtimeMs : 0;
  return Math.max(newestTsMtime(join(root, 'src')), tsconfigAt) > builtAt;
}

if (!needsBuild()) process.exit(0);

console.error('clipsync: dist/ missing or stale, running tsc...');
const localTsc = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsc.cmd' : 'tsc');
// Both builds `npm run build` makes: the ES modules, and the client commands as CommonJS
// (tsconfig.client.json, for bin/clipsync.cjs). Fallback for installs without
// devDependencies: `--package typescript`, because the bare `tsc` name on npm is an
// unrelated package.
for (const project of ['tsconfig.json', 'tsconfig.client.json']) {
  const [cmd, args] = existsSync(localTsc)
    ? [localTsc, ['-p', project]]
    : ['npx', ['--yes', '--package', 'typescript', 'tsc', '-p', project]];
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) {
    console.error(`clipsync: failed to run tsc: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}
await import('./mark-commonjs.mjs');
