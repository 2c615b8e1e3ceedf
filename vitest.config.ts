import { defineConfig } from 'vitest/config';

// Integration tests start real daemons as child processes; on a slow 2-core machine a test
// may legitimately take many seconds, so the limits are generous. Tests wait for events
// (log lines, state changes), never for fixed sleeps.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // Vitest's default on 2 cores is one worker, which runs the files one after another.
    // Most of an integration test's time is spent waiting on daemons, sockets and
    // timers, so two files at once roughly halve the wall time without starving either.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
