// The long fault-schedule run: `npm run test:faults -- --seconds N --seed S` (see
// test/faults/README.md; `--help` lists the options). The harness is TypeScript under
// test/faults/; this script loads it through a small module hook that strips the types with
// esbuild (a dev dependency), so nothing is generated into the source tree and import.meta.url
// keeps pointing at the real files (the harness finds its fixture relative to itself).
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

const hooks = `
let esbuild;
export async function initialize(data) {
  esbuild = await import(data.esbuild);
}
export async function resolve(specifier, context, next) {
  // TypeScript sources import each other as .js (NodeNext): try the .ts file first.
  if (specifier.endsWith('.js') && context.parentURL && context.parentURL.endsWith('.ts') &&
      (specifier.startsWith('.') || specifier.startsWith('/'))) {
    try {
      return await next(specifier.slice(0, -3) + '.ts', context);
    } catch {}
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const { readFile } = await import('node:fs/promises');
  const source = await readFile(new URL(url), 'utf8');
  const out = await esbuild.transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: url,
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  });
  return { format: 'module', source: out.code, shortCircuit: true };
}`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
  data: { esbuild: pathToFileURL(require.resolve('esbuild')).href },
});

const { main } = await import('../test/faults/main.ts');
const code = await main(process.argv.slice(2));
// The run is over and reported: exit now rather than wait for stray sockets of the last schedule.
process.exit(code);
