import { defineConfig } from 'vitest/config';

// The helpers' own tests: loopback sockets, and (netns.test.ts) network namespaces as root.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
