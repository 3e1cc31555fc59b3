import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';
import { leftOut } from './test/needs.js';

// Nest resolves constructor dependencies from decorator metadata, which the
// default (esbuild/oxc) transform does not emit: SWC does.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.spec.ts'],
    // Without redis-server or Chromium (and not under CI=true): their tests are left out, with
    // one line saying what to install.
    exclude: [...configDefaults.exclude, ...leftOut(fileURLToPath(new URL('.', import.meta.url)))],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
