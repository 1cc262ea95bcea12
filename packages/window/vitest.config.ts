import { defineConfig } from 'vitest/config';

// In-process tests with a real loopback server and temp folders.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
