#!/usr/bin/env node
'use strict';
// The `clipsync` command. CommonJS on purpose: editors run `clipsync copy` and `paste` on every
// yank, and Node's ES module loader would add about 8 ms to each. The plain client commands
// run from the CommonJS build of src/cli/client-main.ts; everything else (help, the daemon,
// yargs' parsing and errors) goes to the ES module CLI, dist/cli/main.js.
const MAIN = '../dist/cli/main.js';

// A reader that went away (`clipsync paste | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = process.argv.slice(2);
const run = argv[0] === 'daemon' ? Promise.resolve(undefined) : require('../dist/client/cli/client-main.js').runClientCommand(argv);
run.then(
  (code) => {
    if (code === undefined) return import(MAIN);
    // Let stdout drain (a paste into a pipe) before leaving with the status.
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
