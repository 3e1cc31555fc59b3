import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Test files that need a program beside Node: `redis-server` (on the PATH) or Debian's
 * Chromium (`/usr/bin/chromium`). On a machine with Node alone they are left out with one line
 * saying what to install; under `CI=true` nothing is left out, so a missing program fails.
 * A file needs a program when it, or a helper it imports (transitively), names it.
 */
const NEEDS = [
  {
    what: 'redis-server',
    install: 'apt-get install redis-server',
    marker: /helpers\/redis-(server|cluster)\.js|spawn\(\s*'redis-server'/,
    present: () => {
      try {
        execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
  },
  {
    what: '/usr/bin/chromium',
    install: 'apt-get install chromium',
    marker: /\/usr\/bin\/chromium/,
    present: () => existsSync('/usr/bin/chromium'),
  },
];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

/** The spec files (relative to `root`) to leave out on this machine, and why (printed once). */
export function leftOut(root: string): string[] {
  if (process.env.CI === 'true') return [];
  const missing = NEEDS.filter((n) => !n.present());
  if (missing.length === 0) return [];
  const files = walk(join(root, 'test'));
  const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const imports = (file: string) =>
    [...text.get(file)!.matchAll(/from '(\.[^']+)'|import\('(\.[^']+)'\)/g)]
      .map((m) => resolve(dirname(file), (m[1] ?? m[2]).replace(/\.js$/, '.ts')))
      .filter((f) => text.has(f));
  const out = new Set<string>();
  for (const need of missing) {
    const memo = new Map<string, boolean>();
    const needs = (file: string): boolean => {
      if (memo.has(file)) return memo.get(file)!;
      memo.set(file, false); // cycles
      const result = need.marker.test(text.get(file)!) || imports(file).some(needs);
      memo.set(file, result);
      return result;
    };
    const specs = files.filter((f) => f.endsWith('.spec.ts') && needs(f));
    for (const f of specs) out.add(relative(root, f));
    console.warn(
      `${specs.length} test files skipped: ${need.what} not found (${need.install}; under CI=true they run)`,
    );
  }
  return [...out];
}
