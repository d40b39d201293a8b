import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests serve the dashboard from sources: build it once, where the route reads it.
    globalSetup: ['scripts/build-dashboard.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and share the two cores: run files one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
