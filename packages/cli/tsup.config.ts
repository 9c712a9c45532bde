import { defineConfig } from 'tsup';

// `src/bin.ts` starts with a `#!/usr/bin/env node` hashbang: esbuild keeps an entry's hashbang as
// the first line of its output and tsup marks that file executable, so only `dist/bin.js` gets
// the banner (tsup's `banner` option would stamp it on every entry and chunk).
export default defineConfig({
  entry: { bin: 'src/bin.ts', index: 'src/index.ts' },
  format: ['esm'],
  // tsup's d.ts step sets baseUrl (deprecated in TypeScript 6) and cannot use composite builds.
  dts: { entry: { index: 'src/index.ts' }, compilerOptions: { composite: false, ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
