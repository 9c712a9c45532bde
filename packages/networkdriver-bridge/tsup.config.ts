import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  // tsup's d.ts step sets baseUrl (deprecated in TypeScript 6) and cannot use composite builds.
  dts: { compilerOptions: { composite: false, ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['@tsdocker/core'],
});
