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
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
