import { defineConfig } from 'vitest/config';

// One run covers every package. Integration tests use the real kernel as root (namespaces,
// cgroups, mounts), so they get generous timeouts; speed is measured in bench/, never here.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
