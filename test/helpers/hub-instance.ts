import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A hub instance as a child process (`test/fixtures/hub-instance.mjs`), for tests that must kill
 * one for real (SIGKILL). The fixture runs the built library.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test/fixtures/hub-instance.mjs');

/** Builds `dist/ws-hub` when it is missing or older than `src/ws-hub`. */
export function ensureLibraryBuilt(): void {
  const built = join(root, 'dist/ws-hub/redis/redis.adapter.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const p = join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(root, 'src/ws-hub'))) return;
  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: root, stdio: 'pipe' },
    );
  } catch {
    // Type errors elsewhere still emit JavaScript; what matters is that the output exists.
  }
  if (!existsSync(built)) throw new Error('could not build dist/ (npx tsc -p tsconfig.build.json)');
}

export interface HubInstance {
  child: ChildProcess;
  port: number;
  id: string;
  /** ws://127.0.0.1:<port>/ws */
  url: string;
  exited: Promise<void>;
  /** Kills it unless it already exited. */
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns the fixture (env: REDIS_URL, PORT, KEY_PREFIX, HEARTBEAT_MS, TIMEOUT_MS) until READY. */
export function spawnHubInstance(env: Record<string, string>): Promise<HubInstance> {
  const child = spawn(process.execPath, [fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`child instance not ready within 15 s: ${err}`));
    }, 15_000);
    child.stdout!.on('data', (d) => {
      out += d.toString();
      const m = /READY (\d+) (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ child, port, id: m[2], url: `ws://127.0.0.1:${port}/ws`, exited, kill });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child instance exited (${code}) before READY: ${err}`));
    });
  });
}
