import { defineConfig } from 'vitest/config';

// In-process tests with real loopback sockets and temp folders, in forked workers as the
// receiver's; a test bound above the helpers' own waits, so a stuck wait fails with its
// captured output, not a bare timeout.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
