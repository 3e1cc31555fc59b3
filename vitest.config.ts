import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Nest resolves constructor dependencies from decorator metadata, which the
// default (esbuild/oxc) transform does not emit: SWC does.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.spec.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
