import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The published types (`dist/**.d.ts`) as the build emits them (`tsconfig.build.json`, with
 * `stripInternal`): what a user's editor sees from the package's three entry points. The hub's
 * object graph (the core's collaborators, the socket adapter's internals, the handshake) must
 * not be part of it, and what is published must compile on its own.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Inside the project, so that the emitted files resolve @nestjs/*, rxjs and ws as users' do.
const OUT = join(ROOT, 'node_modules/.cache/ws-hub-published-types');
const ENTRIES = ['ws-hub/index.d.ts', 'ws-hub/redis/index.d.ts', 'ws-hub/client/index.d.ts'];

/**
 * Files the entry points may reach: public contracts (interfaces/, protocol/, options/),
 * the injectables and decorators users touch, the adapters they may construct, the client.
 */
const PUBLIC = [
  /^ws-hub\/index\.d\.ts$/,
  /^ws-hub\/interfaces\//,
  /^ws-hub\/protocol\//,
  /^ws-hub\/options\/(resolve-options|feature-options|deploy-options|options\.error)\.d\.ts$/,
  /^ws-hub\/core\/(hub\.service|tokens|duplicate-handler\.error)\.d\.ts$/,
  /^ws-hub\/decorators\/[a-z-]+\.decorator\.d\.ts$/,
  /^ws-hub\/gateway\/ws\.gateway\.d\.ts$/,
  /^ws-hub\/socket\/ws-hub-socket\.adapter\.d\.ts$/,
  /^ws-hub\/metrics\/hub-metrics\.d\.ts$/,
  /^ws-hub\/health\/hub\.health\.d\.ts$/,
  /^ws-hub\/module\/(ws-hub\.module|module-definition)\.d\.ts$/,
  /^ws-hub\/cluster\/in-memory\.adapter\.d\.ts$/,
  /^ws-hub\/redis\/(index|redis\.adapter|options|stats)\.d\.ts$/,
  /^ws-hub\/client\//,
];

let emitted: string[] = [];

beforeAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.build.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const options: ts.CompilerOptions = {
    ...config.options,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    outDir: OUT,
  };
  const program = ts.createProgram(config.fileNames, options);
  program.emit(undefined, (file, text) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    emitted.push(relative(OUT, file));
  });
}, 120_000);

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

/** The declaration files reachable from the package's entry points through relative imports. */
function reachable(): string[] {
  const seen = new Set<string>();
  const stack = [...ENTRIES];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(join(OUT, file), 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      const spec = (m[1] ?? m[2]).replace(/\.js$/, '.d.ts');
      stack.push(relative(OUT, resolve(dirname(join(OUT, file)), spec)));
    }
  }
  return [...seen].sort();
}

describe('published types', () => {
  it('are emitted for the three entry points', () => {
    for (const entry of ENTRIES) expect(emitted).toContain(entry);
  });

  it('reach only the public contracts, never the hub object graph (HubCore, Connection, Closer, ...)', () => {
    const files = reachable();
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => !PUBLIC.some((p) => p.test(f)))).toEqual([]);
    const service = readFileSync(join(OUT, 'ws-hub/core/hub.service.d.ts'), 'utf8');
    expect(service).not.toMatch(/HubCore|hub-core/);
  });

  it('compile on their own, as a user type-checks them (no name left dangling by stripInternal)', () => {
    const program = ts.createProgram(
      ENTRIES.map((e) => join(OUT, e)),
      {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
    );
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName.startsWith(OUT))
      .map(
        (d) =>
          `${relative(OUT, d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
      );
    expect(errors).toEqual([]);
  }, 120_000);
});
