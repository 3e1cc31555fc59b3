import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The README promises a client under 5 KB minified and gzipped, measured as it says:
 * `esbuild src/ws-hub/client/index.ts --bundle --minify --format=esm | gzip -9 | wc -c`.
 */
describe('ws-hub/client bundle', () => {
  it('stays under 5 KB min+gz, with no import left (no dependency)', async () => {
    const result = await build({
      entryPoints: ['src/ws-hub/client/index.ts'],
      bundle: true,
      minify: true,
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0].text;
    // gzip itself, as the README measures (zlib's deflate differs by a few bytes)
    const bytes = execFileSync('gzip', ['-9'], { input: code }).length;
    expect(bytes).toBeLessThan(5000);
    expect(code).not.toMatch(/\bimport\b/);
  });
});
