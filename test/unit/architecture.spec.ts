import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering of `src/ws-hub/`, checked on the import statements themselves (type-only imports
 * included: they are dependencies of the design even when erased).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/ws-hub');

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** file (relative to src/ws-hub) -> the files and packages it imports */
function importGraph(): Map<string, { files: string[]; packages: string[] }> {
  const graph = new Map<string, { files: string[]; packages: string[] }>();
  for (const file of walk(ROOT)) {
    const text = readFileSync(file, 'utf8');
    const files: string[] = [];
    const packages: string[] = [];
    for (const m of text.matchAll(
      /(?:^|\n)\s*(?:import|export)[^'";]*?from\s+'([^']+)'|import\('([^']+)'\)/g,
    )) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) {
        files.push(relative(ROOT, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))));
      } else {
        packages.push(spec);
      }
    }
    graph.set(relative(ROOT, file), { files, packages });
  }
  return graph;
}

const graph = importGraph();

/**
 * What each folder may import (besides itself), read from the folder table of
 * `docs/architecture.md` itself, so the document and this test cannot drift apart: its last
 * column is "nothing", "everything", or backquoted folders (`core/`) and files
 * (`protocol/constants.ts`, allowing that file only).
 */
const DOC = readFileSync(resolve(ROOT, '../../docs/architecture.md'), 'utf8');
const ALLOWED: Record<string, { folders: string[]; files: string[] }> = {};
for (const line of DOC.split('\n')) {
  const row = /^\|\s*`([a-z]+)\/`\s*\|.*\|([^|]*)\|\s*$/.exec(line);
  if (!row) continue;
  const [, folder, rule] = row;
  const names = [...rule.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  ALLOWED[folder] = {
    folders: names.filter((n) => n.endsWith('/')).map((n) => n.slice(0, -1)),
    files: names.filter((n) => n.endsWith('.ts')),
  };
  if (/^\s*everything/.test(rule)) ALLOWED[folder].folders = ['*'];
}
const allows = (folder: string, to: string) => {
  const rule = ALLOWED[folder];
  return (
    rule.folders.includes('*') || rule.folders.includes(folderOf(to)) || rule.files.includes(to)
  );
};
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

function importsOf(folder: string): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (const [from, deps] of graph) {
    if (folderOf(from) !== folder) continue;
    for (const to of [...deps.files, ...deps.packages]) out.push({ from, to });
  }
  return out;
}

describe('architecture of src/ws-hub', () => {
  it('finds the source, and the folder table of docs/architecture.md', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.has('core/hub.service.ts')).toBe(true);
    expect(Object.keys(ALLOWED).length).toBeGreaterThan(10);
    expect(ALLOWED.protocol).toEqual({ folders: [], files: [] });
    expect(ALLOWED.module.folders).toEqual(['*']);
  });

  it('docs/architecture.md names every source file (its file index), and no file that is gone', () => {
    const named = new Set([...DOC.matchAll(/`([a-z-]+\/[a-z0-9.-]+\.ts)`/g)].map((m) => m[1]));
    const unnamed = [...graph.keys()].filter((f) => f !== 'index.ts' && !named.has(f));
    expect(unnamed).toEqual([]);
    expect([...named].filter((f) => !graph.has(f))).toEqual([]);
  });

  it('every relative import resolves to a file of the library', () => {
    for (const [from, deps] of graph) {
      for (const to of deps.files) expect(graph.has(to), `${from} imports ${to}`).toBe(true);
    }
  });

  it('protocol/ is a leaf: it imports only itself and no package', () => {
    const bad = importsOf('protocol').filter((i) => !i.to.startsWith('protocol/'));
    expect(bad).toEqual([]);
  });

  it('the core never imports the gateway, the socket adapter, Redis, decorators or the module', () => {
    const bad = importsOf('core').filter((i) =>
      /^(gateway|socket|redis|decorators|client|recovery|module)\//.test(i.to),
    );
    expect(bad).toEqual([]);
  });

  it('cluster/ and redis/ see only the adapter-host interface, never the core or the gateway', () => {
    const bad = [...importsOf('cluster'), ...importsOf('redis')].filter((i) =>
      /^(core|gateway|socket|module|decorators|client)\//.test(i.to),
    );
    expect(bad).toEqual([]);
  });

  it('the client imports nothing but itself and protocol files: no Nest, rxjs or Node', () => {
    const bad = importsOf('client').filter(
      (i) => !i.to.startsWith('client/') && !ALLOWED.client.files.includes(i.to),
    );
    expect(bad).toEqual([]);
    expect(ALLOWED.client.folders).toEqual([]);
    expect(ALLOWED.client.files.every((f) => f.startsWith('protocol/'))).toBe(true);
  });

  it('each folder imports only the folders its row of docs/architecture.md allows', () => {
    const folders = new Set([...graph.keys()].map(folderOf));
    folders.delete('.');
    expect([...folders].sort()).toEqual(Object.keys(ALLOWED).sort());
    const bad: string[] = [];
    for (const [from, deps] of graph) {
      const folder = folderOf(from);
      if (folder === '.') continue;
      for (const to of deps.files) {
        if (folderOf(to) !== folder && !allows(folder, to)) bad.push(`${from} -> ${to}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the root holds only the entry point, and nothing inside imports it', () => {
    expect([...graph.keys()].filter((f) => folderOf(f) === '.')).toEqual(['index.ts']);
    const importers = [...graph].filter(([, d]) => d.files.includes('index.ts')).map(([f]) => f);
    expect(importers).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const [from, deps] of graph) {
      for (const to of deps.files) {
        const [a, b] = [folderOf(from), folderOf(to)];
        if (a !== b) (edges.get(a) ?? edges.set(a, new Set()).get(a)!).add(b);
      }
    }
    const cycles: string[] = [];
    const reach = (start: string, at: string, path: string[], seen: Set<string>): void => {
      for (const next of edges.get(at) ?? []) {
        if (next === start) cycles.push([...path, next].join(' -> '));
        else if (!seen.has(next)) {
          seen.add(next);
          reach(start, next, [...path, next], seen);
        }
      }
    };
    for (const folder of edges.keys()) reach(folder, folder, [folder], new Set());
    expect(cycles).toEqual([]);
  });

  it('recovery is a delivery strategy chosen in the composition root: only module/ imports it, and the core never branches on it', () => {
    const importers = [...graph]
      .filter(
        ([from, d]) =>
          !/^(recovery|module)\//.test(from) && d.files.some((t) => t.startsWith('recovery/')),
      )
      .map(([from]) => from);
    expect(importers).toEqual([]);
    const service = readFileSync(join(ROOT, 'core/hub.service.ts'), 'utf8');
    expect(service).not.toMatch(/\brecovery\b/i);
  });

  it('one function builds the object graph: the core collaborators are constructed only in module/compose-hub.ts', () => {
    const built =
      /\bnew (ClientRegistry|Rooms|Delivery|Closer|Registrar|Welcomer|HubFrameDispatcher|HeartbeatScheduler|HubCore|TokenExpiry|Drainer|AdapterHost|PlainDelivery|ClusterLink|HubEvents|HubCounters|LocalHistoryDelivery|RecordedDelivery|StreamMonitor)\(/g;
    const elsewhere: string[] = [];
    for (const file of graph.keys()) {
      if (file === 'module/compose-hub.ts') continue;
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(built))
        elsewhere.push(`${file}: ${m[0]}`);
    }
    expect(elsewhere).toEqual([]);
    expect(readFileSync(join(ROOT, 'module/compose-hub.ts'), 'utf8')).toMatch(/new HubCore\(/);
  });

  it('the gateway, the socket adapter, the metrics and the health indicator see only their role of HubCore', () => {
    const bad = ['gateway', 'socket', 'metrics', 'health'].flatMap((folder) =>
      importsOf(folder)
        .filter((i) => i.to === 'core/hub-core.ts')
        .filter((i) => /import\s*\{[^}]*\bHubCore\b/.test(readFileSync(join(ROOT, i.from), 'utf8')))
        .map((i) => i.from),
    );
    expect(bad).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[][] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'visiting');
      stack.push(file);
      for (const next of graph.get(file)?.files ?? []) {
        if (state.get(next) === 'visiting')
          cycles.push([...stack.slice(stack.indexOf(next)), next]);
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
