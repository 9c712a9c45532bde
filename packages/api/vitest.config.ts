import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'api',
    include: ['test/**/*.test.ts'],
    // The CLI tests spawn the real docker binary; give them room on a loaded machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
