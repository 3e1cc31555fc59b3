import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Test } from '@nestjs/testing';
import { DEMO_APP_OPTIONS } from '../../src/demo/app-options.js';
import { DemoModule } from '../../src/demo/demo.module.js';

/**
 * Starts the demo app on an ephemeral port of 127.0.0.1 (or on `port`, e.g. to restart it where
 * its pages expect it) with extra environment variables (read by its config at construction,
 * then restored). `ws` is the origin, without path.
 */
export async function startDemo(env: Record<string, string> = {}, port = 0) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const moduleRef = await Test.createTestingModule({ imports: [DemoModule] }).compile();
    // As main.ts builds it: a stopping demo answers HTTP 503 and closes keep-alive connections.
    const app = moduleRef.createNestApplication({ ...DEMO_APP_OPTIONS, logger: ['error'] });
    await app.listen(port, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    return {
      app,
      port: address.port,
      base: `http://127.0.0.1:${address.port}`,
      ws: `ws://127.0.0.1:${address.port}`,
    };
  } finally {
    process.env = saved;
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The built demo, as `npm run start:prod` runs it. */
export const DEMO_MAIN = join(root, 'dist/demo/main.js');

function newestMtimeMs(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = join(dir, e.name);
    return Math.max(max, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }, 0);
}

/**
 * Builds `dist/` when the demo or the library changed since the last build (`npm test` builds
 * first; a bare `vitest run` gets the same here). Test files run in parallel processes: one
 * builds, the others wait for its lock.
 */
export function ensureDemoBuilt(): void {
  const stale = () =>
    !existsSync(DEMO_MAIN) ||
    statSync(DEMO_MAIN).mtimeMs <
      Math.max(newestMtimeMs(join(root, 'src/demo')), newestMtimeMs(join(root, 'src/ws-hub')));
  if (!stale()) return;
  const lock = join(root, 'dist/.demo-build.lock');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 3 minutes`);
      // a lock older than 3 minutes belongs to a build that died
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 180_000) {
        rmSync(lock, { recursive: true, force: true });
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (!stale()) return;
    try {
      // tsc, not `nest build`: nest deletes dist/ first, under the feet of other test files.
      execFileSync(
        process.execPath,
        [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
        { cwd: root, stdio: 'pipe' },
      );
    } catch {
      // Type errors elsewhere still emit JavaScript; what matters is that the output exists.
    }
    cpSync(join(root, 'src/demo/public'), join(root, 'dist/demo/public'), { recursive: true });
    if (stale()) throw new Error('could not build dist/ (npm run build)');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface DemoProcess {
  child: ChildProcess;
  port: number;
  base: string;
  ws: string;
  /** Everything the process printed so far (stdout and stderr, in order of arrival). */
  output(): string;
  /** Resolves when the process has exited, with how. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal unless it already exited. */
  kill(signal?: NodeJS.Signals): void;
}

const LISTENING = /listening on http:\/\/[^:]+:(\d+) /;

/**
 * Runs the built demo (`node dist/demo/main.js`) as its own process on 127.0.0.1 (port 0 unless
 * `PORT` is given) and resolves once it logs that it is listening.
 */
export function spawnDemo(env: Record<string, string> = {}, readyTimeoutMs = 20_000) {
  ensureDemoBuilt();
  const child = spawn(process.execPath, [DEMO_MAIN], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  return new Promise<DemoProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`demo not listening within ${readyTimeoutMs} ms:\n${output}`));
    }, readyTimeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const m = LISTENING.exec(output);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          child,
          port,
          base: `http://127.0.0.1:${port}`,
          ws: `ws://127.0.0.1:${port}`,
          output: () => output,
          exited,
          kill,
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`demo exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

/** Runs the built demo until it exits by itself (a failed start): its output and exit code. */
export async function runDemoToExit(env: Record<string, string>, timeoutMs = 20_000) {
  ensureDemoBuilt();
  const child = spawn(process.execPath, [DEMO_MAIN], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}
