// Starts several demo instances sharing one Redis, so broadcasts can be watched crossing:
// open http://localhost:3000 and http://localhost:3001 side by side.
//
//   node scripts/start-cluster.mjs [--rolling-restart-every=<seconds>]
//
// Environment (everything else, HUB_RECOVERY for example, passes through to the instances):
// - REDIS_URL: the Redis to share; unset, a private redis-server is started on a free port.
// - CLUSTER_PORTS: the instances' ports, comma-separated (default "3000,3001").
// - HUB_DRAIN_MS: passed to the instances (the hub's drain on shutdown: its clients closed with
//   1012 over that many ms; unset, the hub's default of 5000); a rolling restart waits that long
//   (plus the hub's shutdown timeout and a margin) for an instance to exit.
//
// A rolling restart stops one instance with SIGTERM, waits for it to exit, starts it again on
// the same port and waits until GET /health answers 200, then goes on to the next one: the
// pages on the restarted instance reconnect while the others keep serving. Type "r" and Enter
// for one; --rolling-restart-every=<seconds> repeats it. Ctrl+C stops everything.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../dist/demo/main.js', import.meta.url));
/** The hub's default shutdownTimeoutMs: how long its shutdown waits for clients' close answers. */
const SHUTDOWN_TIMEOUT_MS = 3_000;
/** The hub's default drainMs: how long its shutdown spreads the closes of its clients. */
const DEFAULT_DRAIN_MS = 5_000;
/** How long a started instance may take to answer GET /health with 200. */
const HEALTHY_WITHIN_MS = 30_000;

const say = (line) => console.log(`cluster: ${line}`);
const fail = (line) => {
  console.error(`cluster: ${line}`);
  process.exit(1);
};

function wholeNumber(name) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()))
    fail(`environment variable ${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

function parseArgs(argv) {
  let everyS;
  for (const arg of argv) {
    const m = /^--rolling-restart-every=(\d+(?:\.\d+)?)$/.exec(arg);
    if (m && Number(m[1]) > 0) everyS = Number(m[1]);
    else fail(`unknown argument "${arg}" (use --rolling-restart-every=<seconds>)`);
  }
  return { everyS };
}

const { everyS } = parseArgs(process.argv.slice(2));
const drainMs = wholeNumber('HUB_DRAIN_MS');
const ports = (process.env.CLUSTER_PORTS || '3000,3001').split(',').map((p) => p.trim());
for (const port of ports) {
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535)
    fail(`environment variable CLUSTER_PORTS must list ports (1-65535), got "${port}"`);
}
if (!existsSync(MAIN)) {
  fail('dist/demo/main.js is missing: run "npm run build" first (npm run start:cluster does)');
}
/** How long a stopping instance may take before it is killed. */
const exitWithinMs = (drainMs ?? DEFAULT_DRAIN_MS) + SHUTDOWN_TIMEOUT_MS + 10_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stopping = false;
let redis;
/** Lines typed on stdin (r: a rolling restart). */
let lines;
let rolling = false;
let rollTimer;
/** The running instance per port: `{ port, child, exited }`. */
const instances = new Map();

async function stop(code) {
  if (stopping) return;
  stopping = true;
  clearTimeout(rollTimer);
  lines?.close();
  const running = [...instances.values()].filter((i) => i.child.exitCode === null);
  for (const instance of running) instance.child.kill('SIGTERM');
  await Promise.race([Promise.all(running.map((i) => i.exited)), sleep(exitWithinMs)]);
  for (const instance of running)
    if (instance.child.exitCode === null) instance.child.kill('SIGKILL');
  if (redis && redis.exitCode === null) redis.kill('SIGTERM');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startRedis() {
  const port = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  redis.on('error', (err) => {
    console.error(
      `cluster: could not start redis-server (${err.message}); install it or set REDIS_URL`,
    );
    void stop(1);
  });
  for (let i = 0; i < 100; i++) {
    if (await accepts(port)) return `redis://127.0.0.1:${port}`;
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}

async function healthy(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Starts the instance of `port` and resolves once GET /health answers 200. */
async function startInstance(port) {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: port, REDIS_URL: redisUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const instance = {
    port,
    child,
    restarting: false,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))),
  };
  instances.set(port, instance);
  void instance.exited.then((how) => {
    if (stopping || instance.restarting) return;
    console.error(`cluster: instance on port ${port} exited (${how}); stopping the cluster`);
    void stop(1);
  });
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  while (!(await healthy(port))) {
    if (stopping) return instance;
    if (Date.now() > deadline) {
      console.error(`cluster: instance on port ${port} not healthy within ${HEALTHY_WITHIN_MS} ms`);
      await stop(1);
    }
    await sleep(100);
  }
  return instance;
}

/** Restarts every instance in turn: SIGTERM, exit, start again, GET /health 200, next. */
async function rollingRestart() {
  if (rolling || stopping) return say('a rolling restart is already running');
  rolling = true;
  const startedAt = performance.now();
  say(`rolling restart of ${ports.length} instances, one at a time`);
  for (const port of ports) {
    if (stopping) return;
    const old = instances.get(port);
    const downAt = performance.now();
    say(`:${port} (pid ${old.child.pid}) stopping (SIGTERM)`);
    old.restarting = true;
    old.child.kill('SIGTERM');
    const how = await Promise.race([old.exited, sleep(exitWithinMs).then(() => 'timeout')]);
    if (how === 'timeout') {
      say(`:${port} did not exit within ${exitWithinMs} ms: killed (SIGKILL)`);
      old.child.kill('SIGKILL');
      await old.exited;
    }
    if (stopping) return;
    say(`:${port} exited after ${Math.round(performance.now() - downAt)} ms; starting it again`);
    const fresh = await startInstance(port);
    if (stopping) return;
    say(
      `:${port} (pid ${fresh.child.pid}) healthy again, ${Math.round(performance.now() - downAt)} ms after SIGTERM`,
    );
  }
  rolling = false;
  say(`rolling restart done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  if (everyS) rollTimer = setTimeout(rollingRestart, everyS * 1000);
}

const redisUrl = process.env.REDIS_URL || (await startRedis());
say(
  `${ports.length} instances sharing ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}` +
    (drainMs === undefined ? '' : `, HUB_DRAIN_MS=${drainMs}`),
);
await Promise.all(ports.map((port) => startInstance(port)));
if (stopping) await new Promise(() => {}); // stop() exits
const pids = ports.map((port) => `:${port} pid ${instances.get(port).child.pid}`).join(', ');
say(
  `ready (${pids}): ${ports.map((port) => `http://localhost:${port}`).join(' ')}` +
    ` - type r and Enter for a rolling restart, Ctrl+C to stop`,
);
lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim().toLowerCase() === 'r') void rollingRestart();
  else if (line.trim()) say('type r and Enter for a rolling restart, Ctrl+C to stop');
});
if (everyS) rollTimer = setTimeout(rollingRestart, everyS * 1000);
