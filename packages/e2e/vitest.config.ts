import { defineConfig } from 'vitest/config';

// Real processes on a 2-core machine: one test file at a time, in a forked worker (node-pty
// and signals behave there), with bounds generous enough for the apps' first compile.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    globalSetup: ['./src/global-setup.ts'],
    setupFiles: ['./src/setup.ts'],
  },
});
