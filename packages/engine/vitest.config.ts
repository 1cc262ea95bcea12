import { defineConfig } from 'vitest/config';

// Real temp folders and files. Forked workers, because the destination tests set the process
// umask (not allowed in worker threads); a test bound above the helpers' own waits.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
