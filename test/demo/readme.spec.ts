import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { describe, expect, it } from 'vitest';
import { DemoController } from '../../src/demo/demo.controller.js';
import { HealthController } from '../../src/demo/health.controller.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const demoSection = readme.slice(
  readme.indexOf('\n## Demo app\n'),
  readme.indexOf('\n## Benchmarks\n'),
);

/** The backticked names in the first column of the table whose header starts with `header`. */
function firstColumn(section: string, header: string): string[] {
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${header}`));
  expect(start, `a table headed "${header}"`).toBeGreaterThan(-1);
  const names: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cell = line.split('|')[1];
    names.push(...[...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
  }
  return names;
}

/** Environment variables a source reads: `env.X`, `env['X']`, and the helpers' `(env, 'X')`. */
function variablesRead(source: string): string[] {
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]*)/g,
    /\benv\[\s*'([A-Z][A-Z0-9_]*)'\s*\]/g,
    /\(\s*(?:this\.)?env\s*,\s*'([A-Z][A-Z0-9_]*)'/g,
    /\bwholeNumber\(\s*'([A-Z][A-Z0-9_]*)'/g,
  ];
  return patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[1]));
}

function sources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

describe("the README's Demo app tables match the code", () => {
  it('lists every environment variable the demo reads, and no other', () => {
    const read = sorted(variablesRead(sources(join(root, 'src/demo'))));
    // the scan finds the reads it must (a scan that finds nothing would compare empty sets)
    expect(read).toEqual(expect.arrayContaining(['PORT', 'HOST', 'HUB_PATH', 'REDIS_URL']));
    expect(sorted(firstColumn(demoSection, 'variable'))).toEqual(read);
  });

  it('lists every variable scripts/start-cluster.mjs reads, and no other', () => {
    const script = readFileSync(join(root, 'scripts/start-cluster.mjs'), 'utf8');
    const read = sorted(variablesRead(script));
    expect(read).toEqual(expect.arrayContaining(['HUB_DRAIN_MS']));
    expect(sorted(firstColumn(demoSection, '`start:cluster` variable'))).toEqual(read);
  });

  it('lists every HTTP endpoint of the demo, and no other', () => {
    const routes: string[] = [];
    for (const controller of [DemoController, HealthController]) {
      const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as unknown as Record<string, object>)[name];
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (name === 'constructor' || path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const full = `/${[base, path]
          .map((p) => p.replace(/^\/|\/$/g, ''))
          .filter(Boolean)
          .join('/')}`;
        routes.push(`${method} ${full}`);
      }
    }
    expect(routes).toEqual(
      expect.arrayContaining(['GET /metrics', 'GET /health', 'POST /broadcast']),
    );
    expect(sorted(firstColumn(demoSection, 'endpoint'))).toEqual(sorted(routes));
  });

  it('names the scripts it tells people to run, which exist', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
    const told = `${readme.slice(0, readme.indexOf('\n## Add it'))}${demoSection}`;
    for (const [command, name] of [
      ['npm start', 'start'],
      ['npm run start:prod', 'start:prod'],
      ['npm run start:cluster', 'start:cluster'],
      ['npm run start:cluster:prod', 'start:cluster:prod'],
    ]) {
      expect(told, command).toContain(command);
      expect(scripts[name], name).toBeDefined();
    }
    // restarting without rebuilding
    expect(scripts['start:prod']).toBe('node dist/demo/main.js');
    expect(scripts['start:cluster:prod']).not.toMatch(/build/);
  });
});
