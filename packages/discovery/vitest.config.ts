import { defineConfig } from 'vitest/config';

// The fake network in memory, and real mDNS packets on loopback to a port of the test's own.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
