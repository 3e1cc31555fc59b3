import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private `redis-server` for one test file: spawned on a free port of 127.0.0.1 (never the
 * shared 6379), no persistence, killed on `stop()` and when the test process exits.
 */
export interface RedisServer {
  readonly port: number;
  /** Its working directory (cluster nodes keep their config file there). */
  readonly dir: string;
  /** `redis://127.0.0.1:<port>` (with `:<password>@` when started with one) */
  readonly url: string;
  readonly running: boolean;
  /** Stops the server (SIGTERM, or SIGKILL to simulate a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Sends a signal without waiting (e.g. SIGSTOP/SIGCONT to freeze a server). */
  signal(signal: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true when something at the port answers PING with PONG. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buf += d.toString();
      // A password-protected server answers NOAUTH: it is up all the same.
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG') || buf.startsWith('-NOAUTH'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function spawnOn(
  port: number,
  dir: string,
  password?: string,
  extraArgs: string[] = [],
): Promise<ChildProcess> {
  if (port === 6379) throw new Error('refusing to use the shared Redis port 6379');
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      ...(password ? ['--requirepass', password] : []),
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d.toString()));
  child.stderr!.on('data', (d) => (output += d.toString()));
  child.once('exit', () => live.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (spawnError) throw new Error(`could not start redis-server: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited: ${output.trim().slice(-500)}`);
    }
    if (await pingOnce(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited(child);
      throw new Error(
        `redis-server on port ${port} did not answer within 5 s: ${output.trim().slice(-500)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Spawns a redis-server on a free port (or on `options.port`, e.g. one reserved earlier with
 * `freePort()`) and waits until it answers PING.
 */
export async function startRedisServer(
  options: { port?: number; password?: string; extraArgs?: string[] } = {},
): Promise<RedisServer> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'ws-hub-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = options.port ?? (await freePort());
    try {
      child = await spawnOn(port, dir, options.password, options.extraArgs);
      break;
    } catch (err) {
      // The port may have been taken between freePort() and the spawn: try another.
      if (attempt >= 2 || options.port !== undefined) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c) return;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill(signal);
      const timer = setTimeout(() => c.kill('SIGKILL'), 3_000);
      await exited(c);
      clearTimeout(timer);
    }
  };

  return {
    port,
    dir,
    url: options.password
      ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`
      : `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    stop: async (signal?: NodeJS.Signals) => {
      await stop(signal);
      rmSync(dir, { recursive: true, force: true });
    },
    signal: (signal: NodeJS.Signals) => {
      child?.kill(signal);
    },
    restart: async () => {
      await stop();
      mkdirSync(dir, { recursive: true });
      child = await spawnOn(port, dir, options.password, options.extraArgs);
    },
  };
}
