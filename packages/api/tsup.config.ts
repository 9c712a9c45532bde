import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  // tsup's declaration build sets `baseUrl` (deprecated in TS 6) and can't use `composite`
  // (it builds a single entry, not the project's file list).
  dts: { compilerOptions: { composite: false, ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
