// Vitest config of the consumer test's snippet app (written there by scripts/consumer-test.mjs).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'src/**/*.e2e-spec.ts'],
    setupFiles: ['./src/checks/no-open-handles.ts'],
    // The machine also builds other apps meanwhile.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
