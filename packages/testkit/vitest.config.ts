import { defineConfig } from 'vitest/config';

// The helpers' own tests: loopback sockets, no processes.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
