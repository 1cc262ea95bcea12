import { defineConfig } from 'vitest/config';

// Some tests build frames at the limits (thousands of entries, megabytes of JSON): bounded
// well above vitest's 5 s, which a busy machine can exceed.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
