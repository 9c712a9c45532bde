import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testkit/index': 'src/testkit/index.ts',
    // Started by URL from the extraction code (archive/extract-in-worker.ts), never imported.
    'archive/extract-worker': 'src/archive/extract-worker.ts',
  },
  format: ['esm'],
  // tsup's d.ts step sets baseUrl (deprecated in TypeScript 6) and cannot use composite builds.
  dts: { compilerOptions: { composite: false, ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['vitest'],
});
