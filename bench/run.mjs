#!/usr/bin/env node
// Benchmark runner for ws-hub: see bench/README.md.
//
//   npm run bench                       full matrix, 3 repetitions (~12.5 min)
//   npm run bench -- --quick            reduced matrix, 1 repetition (~1 min)
//   npm run bench -- --targets=raw-ws,hub --scenarios=broadcast,echo
//   npm run bench -- --reps=5 --json=/tmp/bench.json --verbose
//   npm run bench -- --client=ws        load generator uses the `ws` client
//   npm run bench -- --from-json=/tmp/bench.json   re-render a report only
//   npm run bench -- --quick --ref=/tmp/base    also run a built checkout as target hub-ref
//   npm run bench -- --scenarios=scale           opt-in: max connections on one instance
//   npm run bench -- --scenarios=storm           opt-in: reconnect storm after a SIGKILL
//   npm run bench -- --scenarios=recovery        opt-in: recovery on vs off, history memory
//   npm run bench -- --hub=/tmp/snap             hub target from another built checkout
//
// Every scenario-run gets fresh target process(es) and a fresh load-generator
// process. Targets are interleaved (A B C D A B C D ...) and the figures are
// medians over repetitions with min and max, plus the ratio of each median to
// the raw `ws` baseline of the same invocation.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const HOST = '127.0.0.1';
const KEEP_MARKER =
  '<!-- bench:keep - everything below this line is preserved by bench/run.mjs -->';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const opt = (name) => {
  const a = argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (!a) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : true;
};
if (opt('help')) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 19)
      .join('\n'),
  );
  process.exit(0);
}
const QUICK = Boolean(opt('quick'));
const REPS = Number(opt('reps') ?? (QUICK ? 1 : 3));
const VERBOSE = Boolean(opt('verbose'));
const DRY = Boolean(opt('dry-run'));
const OUT = resolve(ROOT, String(opt('out') ?? 'bench/RESULTS.md'));
const JSON_OUT = opt('json') ? resolve(ROOT, String(opt('json'))) : null;
const list = (v) => (typeof v === 'string' && v ? v.split(',').map((s) => s.trim()) : null);
const ONLY_TARGETS = list(opt('targets'));
const ONLY_SCENARIOS = list(opt('scenarios'));
const CLIENT = opt('client') === 'ws' ? 'ws' : 'fast';
// `--hub=<dir>`: the checkout whose dist/ the hub targets run (default: this one). A copy of
// dist/ taken before a long run keeps a rebuild by someone else from changing it mid-run.
const HUB_DIR = typeof opt('hub') === 'string' ? resolve(String(opt('hub'))) : ROOT;
// `--section=<name>`: write the report as a block of that name below the keep marker of the
// report file (replacing the block of the same name), leaving the main report alone. The
// opt-in scenarios do this by default.
const SECTION = typeof opt('section') === 'string' ? String(opt('section')) : null;
const HUB_ENTRY = join(HUB_DIR, 'dist/demo/main.js');
const HUB_CLIENT_ENTRY = join(HUB_DIR, 'dist/ws-hub/client/index.js');

// ---------------------------------------------------------------- targets

const TARGETS = [
  {
    name: 'raw-ws',
    desc: 'raw ws, naive send loop (baseline)',
    script: 'bench/targets/raw-ws.mjs',
    proto: 'ws',
    path: '/ws',
  },
  {
    name: 'raw-ws-framed',
    desc: 'raw ws, serialised + framed once',
    script: 'bench/targets/raw-ws-framed.mjs',
    proto: 'ws',
    path: '/ws',
  },
  {
    name: 'socketio',
    desc: 'Socket.IO 4.8, websocket transport',
    script: 'bench/targets/socketio.mjs',
    proto: 'sio',
    path: '/socket.io/',
  },
  {
    name: 'hub',
    desc: 'ws-hub demo (dist/demo/main.js)',
    script: HUB_ENTRY,
    proto: 'ws',
    path: '/ws',
    readyTimeoutMs: 30000,
  },
];
// `--ref=<dir>`: another checkout of ws-hub (built), run as target `hub-ref` next to `hub`, so a
// change is compared with its base in one sitting (same machine state, interleaved runs).
const REF_DIR = opt('ref');
if (typeof REF_DIR === 'string') {
  TARGETS.push({
    ...TARGETS[3],
    name: 'hub-ref',
    desc: `ws-hub reference build (${REF_DIR})`,
    script: resolve(REF_DIR, 'dist/demo/main.js'),
  });
}
// Pseudo-target for the cross-instance scenario: two hub instances + Redis.
const HUB_REDIS = {
  ...TARGETS[3],
  name: 'hub-redis',
  desc: '2 ws-hub instances sharing Redis',
  instances: 2,
};
// Pseudo-target for the recovery scenario: the hub with HUB_RECOVERY=on, clients that
// negotiate `ws-hub.recovery` and send `recover` first.
const HUB_RECOVERY = {
  ...TARGETS[3],
  name: 'hub-recovery',
  desc: 'ws-hub demo with HUB_RECOVERY=on, recovering clients',
  env: { HUB_RECOVERY: 'on' },
  recovery: true,
};
// Two instances on Redis with recovery on (history in Redis), for the publish-cost scenario.
const HUB_REDIS_RECOVERY = {
  ...HUB_REDIS,
  name: 'hub-redis-recovery',
  desc: '2 ws-hub instances sharing Redis, HUB_RECOVERY=on',
  env: { HUB_RECOVERY: 'on' },
  recovery: true,
};
// Reference for the reconnect storm: two raw `ws` servers, no Redis (the same clients and
// generator, so what it takes them to come back is the generator's share).
const RAW_PAIR = {
  ...TARGETS[0],
  name: 'raw-ws-pair',
  desc: '2 raw ws servers, no Redis',
  instances: 2,
  noRedis: true,
  base: 'raw-ws',
};
const PSEUDO = {
  'raw-ws-pair': RAW_PAIR,
  'hub-redis': HUB_REDIS,
  'hub-recovery': HUB_RECOVERY,
  'hub-redis-recovery': HUB_REDIS_RECOVERY,
};
const BASELINE = 'raw-ws';

// ---------------------------------------------------------------- scenarios

const ALL_SCENARIOS = ['connect', 'broadcast', 'echo', 'paced', 'heartbeat', 'cluster'];
// Opt-in only (never in the default or quick matrix): name them in --scenarios.
const OPT_IN_SCENARIOS = ['scale', 'storm', 'recovery', 'publish'];
const scenarioOn = (s) =>
  OPT_IN_SCENARIOS.includes(s)
    ? Boolean(ONLY_SCENARIOS?.includes(s))
    : !ONLY_SCENARIOS || ONLY_SCENARIOS.includes(s);
// Loopback source addresses for the opt-in scenarios (each has its own ephemeral port range).
const SOURCE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const fdHardLimit = () => Number(machine().fdLimit) || 0;

function buildCases() {
  const cases = [];
  const ns = QUICK ? [1000] : [1000, 5000, 10000];
  const payloads = [64, 1024];
  const piggyConnect = scenarioOn('connect') && scenarioOn('broadcast');
  if (scenarioOn('broadcast')) {
    // One scenario-run per N: connect N clients, then 50 broadcasts of 64 B
    // then 50 of 1 KiB. The connect phase doubles as the connect scenario.
    for (const n of ns) {
      cases.push({
        id: `broadcast-${n}`,
        scenario: 'broadcast',
        clients: n,
        payloads,
        alsoConnect: piggyConnect,
        estSec: 1.8 + n / 3000 + (n * 52 * payloads.length) / 75000,
      });
    }
  }
  if (scenarioOn('connect') && !piggyConnect) {
    for (const n of ns)
      cases.push({ id: `connect-${n}`, scenario: 'connect', clients: n, estSec: 2 + n / 3000 });
  }
  if (scenarioOn('echo')) {
    for (const n of QUICK ? [1000] : [1000, 5000]) {
      const durationMs = QUICK ? 1500 : 3000;
      cases.push({
        id: `echo-${n}`,
        scenario: 'echo',
        clients: n,
        durationMs,
        warmupMs: 500,
        estSec: 1.6 + n / 3000 + durationMs / 1000,
      });
    }
  }
  if (scenarioOn('paced')) {
    const durationMs = QUICK ? 1500 : 3000;
    cases.push({
      id: 'paced-1000',
      scenario: 'paced',
      clients: 1000,
      rate: 5000,
      durationMs,
      estSec: 2 + durationMs / 1000,
    });
  }
  if (scenarioOn('heartbeat')) {
    const n = QUICK ? 2000 : 10000;
    const windowMs = QUICK ? 2000 : 4000;
    cases.push({
      id: `heartbeat-${n}`,
      scenario: 'heartbeat',
      clients: n,
      pingIntervalMs: 1000,
      settleMs: 1500,
      windowMs,
      estSec: 3 + n / 4000 + windowMs / 1000,
    });
  }
  if (scenarioOn('scale')) {
    // As many connections as one process may hold: 50000, or the fd hard limit less a margin
    // (every connection is one fd in the server and one in the generator).
    const fd = fdHardLimit();
    const max = Number(opt('scale-clients')) || 50000;
    const n = Math.min(max, fd ? Math.floor((fd - 1000) / 500) * 500 : max);
    const steps = [1000, 5000, 10000, 25000, 50000].filter((k) => k < n);
    steps.push(n);
    const hbWindowMs = Number(opt('scale-hb-window')) || 30000;
    cases.push({
      id: `scale-${n}`,
      scenario: 'scale',
      clients: n,
      steps,
      fdLimited: n < max,
      targets: ['raw-ws', 'hub'],
      hbWindowMs,
      estSec:
        4 + n / 3000 + steps.reduce((a, k) => a + (k * 52) / 80000 + 1.5, 0) + hbWindowMs / 1000,
      cfg: {
        steps,
        payloadBytes: 64,
        localAddresses: SOURCE_ADDRESSES,
        settleMs: 1000,
        pingIntervalMs: 25000,
        defaultPingIntervalMs: 25000,
        windowMs: hbWindowMs,
        connectTimeoutMs: 180000,
      },
    });
  }
  if (scenarioOn('storm')) {
    const n = Number(opt('storm-clients')) || 10000;
    cases.push({
      id: `storm-${n}`,
      scenario: 'storm',
      clients: n,
      targets: ['raw-ws-pair', 'hub-redis'],
      baseline: 'raw-ws-pair',
      estSec: 8 + n / 1500,
      // One source address: 10000 connections fit its port range, and bind() with an explicit
      // local address searches the port range in the kernel on every connect (15 % of the
      // generator's time in a profile, with many TIME_WAIT sockets around).
      cfg: { stormTimeoutMs: 60000 },
    });
    // Issue 20: the same clients when A drains (SIGTERM: 1012 in batches over HUB_DRAIN_MS),
    // and a SIGKILL storm into a B that admits at most HUB_MAX_HANDSHAKES_PER_S (503 +
    // Retry-After, which ws-hub/client honours).
    const drainMs = Number(opt('storm-drain-ms')) || 5000;
    const rate = Number(opt('storm-handshakes-per-s')) || 2000;
    cases.push({
      id: `storm-drain-${n}`,
      scenario: 'storm',
      stormKind: 'drain',
      clients: n,
      targets: ['hub-redis'],
      baseline: 'hub-redis',
      envA: { HUB_DRAIN_MS: String(drainMs) },
      estSec: 8 + n / 1500 + drainMs / 1000,
      cfg: { stormTimeoutMs: 60000 + drainMs, stormSignal: 'SIGTERM' },
    });
    cases.push({
      id: `storm-admission-${n}`,
      scenario: 'storm',
      stormKind: 'admission',
      clients: n,
      targets: ['hub-redis'],
      baseline: 'hub-redis',
      envB: { HUB_MAX_HANDSHAKES_PER_S: String(rate) },
      estSec: 8 + n / 1500 + n / rate,
      cfg: { stormTimeoutMs: 60000 },
    });
  }
  if (scenarioOn('recovery')) {
    const sizes = list(opt('recovery-clients'))?.map(Number) ?? [2000, 10000];
    for (const n of sizes) {
      cases.push({
        id: `recovery-${n}`,
        scenario: 'recovery',
        clients: n,
        payloads: [64, 1024],
        gen: 'broadcast',
        baseline: 'hub',
        targets: ['hub', 'hub-recovery'],
        estSec: 1.8 + n / 3000 + (n * 52 * 2) / 75000,
      });
    }
    // The same on two instances sharing Redis (history in Redis, written by the publish script),
    // clients split between them, broadcasts POSTed to the first.
    for (const n of sizes) {
      cases.push({
        id: `recovery-redis-${n}`,
        scenario: 'recovery',
        clients: n,
        payloads: [64, 1024],
        gen: 'broadcast',
        redis: true,
        baseline: 'hub-redis',
        targets: ['hub-redis', 'hub-redis-recovery'],
        estSec: 3 + n / 3000 + (n * 52 * 2) / 75000,
      });
    }
    cases.push({
      id: 'history-memory',
      scenario: 'history',
      clients: 0,
      baseline: 'hub',
      targets: ['hub', 'hub-recovery'],
      inspect: true,
      estSec: 30,
      cfg: {
        messages: Number(opt('history-messages')) || 10000,
        perRoom: 250,
        payloads: [64, 1024],
      },
    });
  }
  if (scenarioOn('publish')) {
    cases.push({
      id: 'publish-cost',
      scenario: 'publish',
      clients: 2,
      baseline: 'hub',
      targets: ['hub', 'hub-redis', 'hub-redis-recovery'],
      estSec: 8,
      cfg: { messages: Number(opt('publish-messages')) || 5000, payloadBytes: 64 },
    });
  }
  if (scenarioOn('cluster')) {
    // 200 clients: the generator is not the bottleneck, so the latency columns show what the
    // Redis hop adds; 4000: the CPU per delivery under load (latency there is generator-bound).
    for (const n of QUICK ? [200, 1000] : [200, 4000]) {
      cases.push({
        id: `cluster-${n}`,
        scenario: 'cluster',
        clients: n,
        payloads: [64],
        baseline: 'hub',
        targets: ['hub', 'hub-redis'],
        estSec: 2 + n / 3000 + (n * 52) / 100000,
      });
    }
  }
  return cases;
}

// ---------------------------------------------------------------- processes

const children = new Set();

function spawnTracked(cmd, args, env, label) {
  // Raise the fd limit to the hard limit (10000 clients need >10000 fds);
  // `exec` keeps the pid, so /proc/<pid> is the node process itself.
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', cmd, ...args],
    {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.label = label;
  child.tail = [];
  child.exited = false;
  const keep = (prefix) => (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      child.tail.push(line);
      if (child.tail.length > 40) child.tail.shift();
      if (VERBOSE) process.stderr.write(`    [${label}${prefix}] ${line}\n`);
    }
  };
  child.stdout.on('data', keep(''));
  child.stderr.on('data', keep(':err'));
  children.add(child);
  child.exitPromise = new Promise((res) =>
    child.on('exit', (code, sig) => {
      child.exited = true;
      child.exitCode_ = code ?? sig;
      children.delete(child);
      res();
    }),
  );
  return child;
}

function killChild(child) {
  if (!child || child.exited) return Promise.resolve();
  try {
    process.kill(-child.pid, 'SIGKILL'); // its own process group (detached)
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return Promise.race([child.exitPromise, sleep(3000)]);
}

function killAllSync() {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

let interrupted = false;
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${sig}: killing ${children.size} child process(es), writing partial results`);
    killAllSync();
    try {
      writeReport(true);
    } catch (e) {
      console.error(e);
    }
    process.exit(130);
  });
}
process.on('uncaughtException', (e) => {
  console.error('uncaught:', e);
  killAllSync();
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  console.error('unhandled rejection:', e);
  killAllSync();
  process.exit(1);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function httpJson(port, method, path, timeoutMs = 2000) {
  return new Promise((res, rej) => {
    const req = http.request(
      { host: HOST, port, method, path, timeout: timeoutMs, agent: false },
      (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => {
          if (r.statusCode !== 200) return rej(new Error(`${method} ${path} -> ${r.statusCode}`));
          try {
            res(JSON.parse(Buffer.concat(chunks).toString()));
          } catch (e) {
            rej(e);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

function targetEnv(extra) {
  return {
    ...process.env,
    HOST,
    HUB_PATH: '/ws',
    NODE_ENV: process.env.NODE_ENV || 'production',
    ...extra,
  };
}

async function startTarget(t, extraEnv, label, { inspect = false } = {}) {
  const port = await freePort();
  // --inspect (history memory only): the generator forces a full GC before reading the heap.
  const inspectPort = inspect ? await freePort() : undefined;
  const child = spawnTracked(
    'node',
    [...(inspect ? [`--inspect=${HOST}:${inspectPort}`] : []), t.script],
    targetEnv({ PORT: String(port), ...t.env, ...extraEnv }),
    label,
  );
  const deadline = Date.now() + (t.readyTimeoutMs ?? 15000);
  // Ready = GET /stats answers 200 with a numeric `online`.
  while (Date.now() < deadline) {
    if (child.exited)
      throw new Error(
        `${label} exited (${child.exitCode_}) before ready:\n${child.tail.join('\n')}`,
      );
    try {
      const st = await httpJson(port, 'GET', '/stats', 1000);
      if (typeof st.online === 'number') {
        let pid = child.pid;
        if (typeof st.pid === 'number' && st.pid !== child.pid) {
          console.error(
            `  ! ${label}: /stats pid ${st.pid} != spawned pid ${child.pid}; using ${st.pid}`,
          );
          pid = st.pid;
        }
        return { child, port, pid, proto: t.proto, path: t.path, stats: st, inspectPort };
      }
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  await killChild(child);
  throw new Error(
    `${label} not ready on port ${port} within ${t.readyTimeoutMs ?? 15000} ms:\n${child.tail.join('\n')}`,
  );
}

async function startRedis() {
  const port = await freePort();
  const child = spawnTracked(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    process.env,
    'redis',
  );
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exited) throw new Error(`redis-server exited:\n${child.tail.join('\n')}`);
    const ok = await new Promise((res) => {
      const s = net.connect(port, HOST);
      s.setTimeout(500);
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        res(d.toString().startsWith('+PONG'));
        s.destroy();
      });
      s.on('error', () => res(false));
      s.on('timeout', () => {
        res(false);
        s.destroy();
      });
    });
    if (ok) return { child, port, url: `redis://${HOST}:${port}` };
    await sleep(50);
  }
  await killChild(child);
  throw new Error('redis-server not ready');
}

function runLoadgen(cfg, timeoutMs, label) {
  const child = spawnTracked(
    'node',
    [
      // BENCH_LOADGEN_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): the generator only.
      ...(process.env.BENCH_LOADGEN_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(BENCH, 'loadgen.mjs'),
      JSON.stringify({ ...cfg, deadlineMs: timeoutMs }),
    ],
    process.env,
    label,
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let timer;
  const expired = new Promise((res) => (timer = setTimeout(res, timeoutMs + 5000)));
  return Promise.race([
    child.exitPromise.then(() => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line)
        throw new Error(
          `loadgen gave no result (exit ${child.exitCode_}):\n${child.tail.join('\n')}`,
        );
      const r = JSON.parse(line.slice(7));
      if (r.error) throw new Error(`loadgen: ${r.error}`);
      return r;
    }),
    expired.then(async () => {
      await killChild(child);
      throw new Error(`loadgen timed out after ${timeoutMs} ms`);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- one run

function envFor(c) {
  if (c.scenario !== 'heartbeat') return {};
  const ms = String(c.pingIntervalMs);
  return { PING_INTERVAL_MS: ms, HUB_PING_INTERVAL_MS: ms };
}

async function runOne(c, t, rep) {
  const servers = [];
  let redis = null;
  const label = `${t.name}#${rep}`;
  try {
    if (t.instances === 2) {
      if (!t.noRedis) redis = await startRedis();
      const redisEnv = redis ? { REDIS_URL: redis.url } : {};
      for (const k of ['A', 'B']) {
        const own = (k === 'A' ? c.envA : c.envB) ?? {};
        servers.push(await startTarget(t, { ...envFor(c), ...redisEnv, ...own }, `${label}${k}`));
      }
    } else {
      servers.push(await startTarget(t, envFor(c), label, { inspect: c.inspect }));
    }
    const cfg = {
      scenario: c.gen ?? c.scenario,
      servers: servers.map((s) => ({
        port: s.port,
        proto: s.proto,
        path: s.path,
        pid: s.pid,
        inspectPort: s.inspectPort,
      })),
      clients: c.clients,
      concurrency: 200,
      client: CLIENT,
      clkTck: CLK_TCK,
      // Alternate the payload order between repetitions so neither size
      // always runs on the warmer process.
      payloads: c.payloads && rep % 2 === 0 ? [...c.payloads].reverse() : c.payloads,
      broadcasts: 50,
      warmup: 2,
      durationMs: c.durationMs,
      warmupMs: c.warmupMs,
      rate: c.rate,
      pingIntervalMs: c.pingIntervalMs,
      windowMs: c.windowMs,
      // RSS is read 1 s after the last handshake only where the connect table
      // takes its figures from; other scenarios just let the storm settle.
      measureRss: Boolean(c.alsoConnect || c.scenario === 'connect'),
      settleMs: c.settleMs ?? (c.alsoConnect || c.scenario === 'connect' ? 1000 : 300),
      recovery: Boolean(t.recovery),
      clientModule: HUB_CLIENT_ENTRY,
      redisPid: redis?.child.pid,
      ...c.cfg,
    };
    const timeoutMs = Math.round(30000 + c.estSec * 4000);
    return await runLoadgen(cfg, timeoutMs, `loadgen:${label}`);
  } finally {
    for (const s of servers) await killChild(s.child);
    if (redis) await killChild(redis.child);
  }
}

// ---------------------------------------------------------------- metrics

// key: field name; dec: decimals; ratio: show ratio vs baseline.
const M = {
  connect: [
    { key: 'connectMs', label: 'time to connect all (ms)', dec: 0 },
    { key: 'rssPerConnKiB', label: 'server RSS per connection (KiB)', dec: 1 },
    { key: 'cpuUsPerConnect', label: 'server CPU µs / accepted connection', dec: 0 },
    { key: 'failed', label: 'failed connects (must be 0)', dec: 0, ratio: false },
  ],
  broadcast: [
    { key: 'cpuUsPerDelivery', label: 'server CPU µs / delivery', dec: 2 },
    { key: 'deliveriesPerSec', label: 'deliveries/s (generator-bound)', dec: 0 },
    { key: 'latP50', label: 'latency p50 (ms)', dec: 2 },
    { key: 'latP99', label: 'latency p99 (ms)', dec: 2 },
    { key: 'eldP99Ms', label: 'server event-loop delay p99 (ms)', dec: 1 },
    { key: 'eldMaxMs', label: 'server event-loop delay max (ms)', dec: 1 },
    { key: 'lost', label: 'lost deliveries (must be 0)', dec: 0, ratio: false },
    { key: 'dup', label: 'duplicated deliveries (must be 0)', dec: 0, ratio: false },
  ],
  echo: [
    { key: 'cpuUsPerAck', label: 'server CPU µs / ack', dec: 2 },
    { key: 'acksPerSec', label: 'acks/s (generator-bound)', dec: 0 },
    { key: 'latP50', label: 'latency p50 (ms)', dec: 2 },
    { key: 'latP99', label: 'latency p99 (ms)', dec: 2 },
    { key: 'eldP99Ms', label: 'server event-loop delay p99 (ms)', dec: 1 },
    { key: 'eldMaxMs', label: 'server event-loop delay max (ms)', dec: 1 },
  ],
  paced: [
    { key: 'latP50', label: 'latency p50 (ms)', dec: 3 },
    { key: 'latP99', label: 'latency p99 (ms)', dec: 3 },
    { key: 'cpuUsPerAck', label: 'server CPU µs / ack', dec: 2 },
    { key: 'eldP99Ms', label: 'server event-loop delay p99 (ms)', dec: 1 },
    { key: 'eldMaxMs', label: 'server event-loop delay max (ms)', dec: 1 },
    { key: 'lost', label: 'unanswered messages (must be 0)', dec: 0, ratio: false },
  ],
  heartbeat: [
    { key: 'cpuPct', label: 'server CPU % of a core (1 s ping)', dec: 2 },
    { key: 'cpuPctAtDefault', label: 'scaled to 25 s interval (% core)', dec: 3 },
    { key: 'eldP99Ms', label: 'server event-loop delay p99 (ms)', dec: 1 },
    { key: 'eldMaxMs', label: 'server event-loop delay max (ms)', dec: 1 },
    {
      key: 'pingsPerClientPerInterval',
      label: 'pings per client per interval',
      dec: 2,
      ratio: false,
    },
    { key: 'peakPingsPer100msPct', label: 'peak pings in 100 ms (% of clients)', dec: 1 },
  ],
  cluster: [
    { key: 'cpuUsPerDelivery', label: 'server CPU µs / delivery (all instances)', dec: 2 },
    { key: 'latP50A', label: 'latency p50, clients on A (ms)', dec: 2 },
    { key: 'latP99A', label: 'latency p99, clients on A (ms)', dec: 2 },
    // ratio: B's latency over the single-instance hub's (ratioKey of the baseline)
    { key: 'latP50B', label: 'latency p50, clients on B (ms)', dec: 2, ratioKey: 'latP50A' },
    { key: 'latP99B', label: 'latency p99, clients on B (ms)', dec: 2, ratioKey: 'latP99A' },
    { key: 'p99BminusA', label: 'p99 B - p99 A (ms)', dec: 2, ratio: false },
    { key: 'lost', label: 'lost deliveries (must be 0)', dec: 0, ratio: false },
    { key: 'dup', label: 'duplicated deliveries (must be 0)', dec: 0, ratio: false },
  ],
};

M.scale = [
  { key: 'connectMs', label: 'time to connect all (ms, in steps)', dec: 0 },
  { key: 'cpuUsPerConnectAll', label: 'server CPU µs / accepted connection (all)', dec: 0 },
  { key: 'rssPerConnKiB', label: 'server RSS per connection (KiB)', dec: 2 },
  { key: 'marginalRssPerConnKiB', label: 'marginal RSS per connection, last step (KiB)', dec: 2 },
  {
    key: 'tcpMemPerConnKiB',
    label: 'kernel TCP buffer memory per connection, both ends (KiB)',
    dec: 2,
    ratio: false,
  },
  { key: 'cpuUsPerDelivery', label: 'broadcast CPU µs / delivery (64 B)', dec: 2 },
  { key: 'latP50', label: 'delivery latency p50 (ms)', dec: 1 },
  { key: 'latP99', label: 'delivery latency p99 (ms)', dec: 1 },
  { key: 'bEldP99Ms', label: 'event-loop delay p99 during broadcasts (ms)', dec: 1 },
  { key: 'hbCpuPct', label: 'heartbeat CPU % of a core, 25 s interval', dec: 3 },
  { key: 'hbEldP99Ms', label: 'heartbeat event-loop delay p99 (ms)', dec: 1 },
  { key: 'hbEldMaxMs', label: 'heartbeat event-loop delay max (ms)', dec: 1 },
  { key: 'hbPings', label: 'pings per client per 25 s', dec: 2, ratio: false },
  { key: 'hbPeakPct', label: 'peak pings in 100 ms (% of clients)', dec: 1 },
  { key: 'failed', label: 'failed connects (must be 0)', dec: 0, ratio: false },
  { key: 'lost', label: 'lost deliveries, all steps (must be 0)', dec: 0, ratio: false },
  { key: 'dup', label: 'duplicated deliveries, all steps (must be 0)', dec: 0, ratio: false },
];
M.storm = [
  { key: 'connectMs', label: 'initial connect of all clients to A (ms)', dec: 0 },
  { key: 'allBackMs', label: 'time until all are back (ms after the signal)', dec: 0, ratio: true },
  { key: 'backP50Ms', label: 'per client: back after p50 (ms)', dec: 0, ratio: true },
  { key: 'backP99Ms', label: 'per client: back after p99 (ms)', dec: 0, ratio: true },
  { key: 'backMaxMs', label: 'per client: back after max (ms)', dec: 0 },
  { key: 'notBack', label: 'clients not back within 60 s (must be 0)', dec: 0 },
  {
    key: 'refusedHandshakes',
    label: 'handshakes refused by the survivor (0 but with admission control)',
    dec: 0,
  },
  { key: 'failedAttempts', label: 'failed reconnect attempts (client side)', dec: 0 },
  { key: 'survivorEldP99Ms', label: 'survivor event-loop delay p99 during the storm (ms)', dec: 1 },
  { key: 'survivorEldMaxMs', label: 'survivor event-loop delay max during the storm (ms)', dec: 1 },
  {
    key: 'survivorCpuUsPerHandshake',
    label: 'survivor CPU µs / reconnection',
    dec: 0,
    ratio: true,
  },
  { key: 'survivorCpuPct', label: 'survivor CPU % of a core, kill to all back', dec: 0 },
  { key: 'loadgenCpuPct', label: 'generator CPU % of a core, same window', dec: 0 },
  { key: 'loadgenEldMaxMs', label: 'generator event-loop delay max (ms)', dec: 0 },
  {
    key: 'lostMaxMs',
    label: 'last client to see its connection drop (ms after the signal)',
    dec: 0,
  },
].map((m) => ({ ...m, ratio: m.ratio ?? false }));
M.publish = [
  {
    key: 'cpuUsPerPublishA',
    label: 'CPU µs / publish, instance A (POST /broadcast + publish)',
    dec: 0,
  },
  {
    key: 'cpuUsPerPublishB',
    label: 'CPU µs / publish, instance B (receive, decode, deliver to 1)',
    dec: 0,
  },
  { key: 'cpuUsPerPublishAll', label: 'CPU µs / publish, all instances', dec: 0 },
  { key: 'redisCpuUsPerPublish', label: 'redis-server CPU µs / publish', dec: 1, ratio: false },
  {
    key: 'publishesPerSec',
    label: 'publishes/s (one at a time, informative)',
    dec: 0,
    ratio: false,
  },
];
M.history = [64, 1024].flatMap((p) => [
  {
    key: `heap${p}`,
    label: `heap bytes / message after full GC, ${p} B data`,
    dec: 0,
    ratio: false,
  },
  { key: `rss${p}`, label: `RSS bytes / message, ${p} B data`, dec: 0, ratio: false },
]);
// Per-step rows of the scale scenario's fan-out table.
function scaleStepMetrics(steps) {
  return [
    ...steps.map((k) => ({
      key: `cpu${k}`,
      label: `server CPU µs / delivery, ${k} clients`,
      dec: 2,
    })),
    ...steps.map((k) => ({
      key: `flat${k}`,
      label: `µs / delivery at ${k} ÷ at ${steps[0]}`,
      dec: 2,
      ratio: false,
    })),
    ...steps.map((k) => ({ key: `p99_${k}`, label: `delivery p99, ${k} clients (ms)`, dec: 1 })),
    ...steps.map((k, i) => ({
      key: `cpc${k}`,
      label: `server CPU µs / connect, clients ${i ? steps[i - 1] + 1 : 1}-${k}`,
      dec: 0,
    })),
    ...steps.map((k) => ({ key: `rss${k}`, label: `server RSS at ${k} clients (MiB)`, dec: 0 })),
  ];
}

function extractScale(c, r, rows, warn) {
  const top = r.steps.at(-1);
  const first = r.steps[0];
  let lost = 0;
  let dup = 0;
  for (const st of r.steps) {
    lost += st.series.lost;
    dup += st.series.dup;
    if (st.failed) warn.push(`${c.id} step ${st.clients}: ${st.failed} failed connects`);
    if (!st.onlineOk) warn.push(`${c.id} step ${st.clients}: /stats online never reached`);
    if (st.series.lost || st.series.dup)
      warn.push(`${c.id} step ${st.clients}: lost ${st.series.lost}, dup ${st.series.dup}`);
  }
  const connCpu = r.steps.reduce((a, st) => a + st.connectCpuUs, 0);
  rows[c.id] = {
    connectMs: r.steps.reduce((a, st) => a + st.connectMs, 0),
    cpuUsPerConnectAll: top.ready ? connCpu / top.ready : null,
    rssPerConnKiB: top.rssPerConnKiB,
    marginalRssPerConnKiB: top.marginalRssPerConnKiB,
    tcpMemPerConnKiB: top.tcpMemPerConnKiB,
    cpuUsPerDelivery: top.series.cpuUsPerDelivery,
    latP50: top.series.latencyAll.p50,
    latP99: top.series.latencyAll.p99,
    bEldP99Ms: top.series.eldP99Ms,
    hbCpuPct: r.heartbeat.cpuPct,
    hbEldP99Ms: r.heartbeat.eldP99Ms,
    hbEldMaxMs: r.heartbeat.eldMaxMs,
    hbPings: r.heartbeat.pingsPerClientPerInterval,
    hbPeakPct: r.heartbeat.peakPingsPer100msPct,
    failed: r.steps.reduce((a, st) => a + st.failed, 0),
    lost,
    dup,
  };
  const fan = {};
  for (const st of r.steps) {
    fan[`cpu${st.clients}`] = st.series.cpuUsPerDelivery;
    fan[`flat${st.clients}`] = st.series.cpuUsPerDelivery / first.series.cpuUsPerDelivery;
    fan[`p99_${st.clients}`] = st.series.latencyAll.p99;
    fan[`cpc${st.clients}`] = st.cpuUsPerConnect;
    fan[`rss${st.clients}`] = st.rssKiB / 1024;
  }
  rows[`${c.id}-fanout`] = fan;
}

// Turn one loadgen result into { tableId: { metric: value } } rows.
function extract(c, r) {
  const rows = {};
  const warn = [];
  if (c.scenario === 'scale') {
    extractScale(c, r, rows, warn);
    return { rows, warn };
  }
  if (c.scenario === 'storm') {
    rows[c.id] = { ...r, connectMs: r.connect.connectMs };
    if (r.notBack) warn.push(`${c.id}: ${r.notBack} clients not back`);
    if (r.refusedHandshakes && c.stormKind !== 'admission')
      warn.push(`${c.id}: ${r.refusedHandshakes} handshakes refused`);
    return { rows, warn };
  }
  if (c.scenario === 'publish') {
    rows[c.id] = { ...r.publish };
    return { rows, warn };
  }
  if (c.scenario === 'history') {
    const row = {};
    for (const p of r.passes) {
      row[`heap${p.payloadBytes}`] = p.heapBytesPerMsg;
      row[`rss${p.payloadBytes}`] = p.rssBytesPerMsg;
    }
    rows[c.id] = row;
    return { rows, warn };
  }
  const conn = r.connect;
  if (conn.failed) warn.push(`${conn.failed} failed connects`);
  if (!conn.onlineOk)
    warn.push(`/stats online never reached ${c.clients}: ${JSON.stringify(conn.online)}`);
  if (r.frames?.badFrames) warn.push(`${r.frames.badFrames} unparseable frames`);
  if (r.frames?.unexpectedClose)
    warn.push(`${r.frames.unexpectedClose} clients closed unexpectedly`);
  if (c.scenario === 'connect' || c.alsoConnect) rows[`connect-${c.clients}`] = { ...conn };
  if (c.scenario === 'recovery')
    rows[c.redis ? `recovery-redis-connect-${c.clients}` : `recovery-connect-${c.clients}`] = {
      ...conn,
    };
  if (c.scenario === 'broadcast' || c.scenario === 'cluster' || c.scenario === 'recovery') {
    for (const s of r.series) {
      const id =
        c.scenario === 'broadcast'
          ? `broadcast-${c.clients}-${s.payloadBytes}`
          : c.scenario === 'recovery'
            ? `${c.id}-${s.payloadBytes}`
            : c.id;
      const row = {
        ...s,
        latP50: s.latencyAll.p50,
        latP99: s.latencyAll.p99,
        latP50A: s.latency[0]?.p50,
        latP99A: s.latency[0]?.p99,
        latP50B: s.latency[1]?.p50 ?? null,
        latP99B: s.latency[1]?.p99 ?? null,
      };
      row.p99BminusA = row.latP99B == null ? null : row.latP99B - row.latP99A;
      rows[id] = row;
      if (s.lost || s.dup || s.corrupt)
        warn.push(`${id}: lost ${s.lost}, dup ${s.dup}, corrupt ${s.corrupt}`);
      if (s.stalls) warn.push(`${id}: ${s.stalls} broadcasts did not reach every client`);
      if (s.reportedMismatch)
        warn.push(`${id}: ${s.reportedMismatch} POST /broadcast replies with delivered != clients`);
    }
  }
  if (c.scenario === 'echo' || c.scenario === 'paced') {
    const e = r.echo ?? r.paced;
    rows[c.id] = { ...e, latP50: e.latency.p50, latP99: e.latency.p99 };
    if (e.corrupt || e.dupAcks || e.lost)
      warn.push(`${c.id}: corrupt ${e.corrupt}, dup acks ${e.dupAcks}, lost ${e.lost ?? 0}`);
  }
  if (c.scenario === 'heartbeat') rows[c.id] = { ...r.heartbeat };
  return { rows, warn };
}

function tablesFor(c) {
  if (c.scenario === 'scale') {
    return [
      {
        id: c.id,
        kind: 'scale',
        title: `Scale: ${c.clients} connections on one instance, from ${SOURCE_ADDRESSES.length} loopback source addresses`,
      },
      {
        id: `${c.id}-fanout`,
        kind: 'scale',
        metrics: scaleStepMetrics(c.steps),
        title: `Scale: cost per delivery and per connection by number of clients (64 B, 50 broadcasts per step, one process)`,
      },
    ];
  }
  if (c.scenario === 'storm') {
    return [
      {
        id: c.id,
        kind: 'storm',
        title:
          c.stormKind === 'drain'
            ? `Drain: ${c.clients} ws-hub/client clients of instance A (SIGTERM, HUB_DRAIN_MS=${c.envA.HUB_DRAIN_MS}: 1012 in batches) back on instance B, Redis adapter`
            : c.stormKind === 'admission'
              ? `Reconnect storm into admission control: ${c.clients} clients of A (SIGKILL) back on B with HUB_MAX_HANDSHAKES_PER_S=${c.envB.HUB_MAX_HANDSHAKES_PER_S}, Redis adapter`
              : `Reconnect storm: ${c.clients} ws-hub/client clients of instance A (SIGKILL) back on instance B, Redis adapter`,
      },
    ];
  }
  if (c.scenario === 'publish') {
    return [
      {
        id: c.id,
        kind: 'publish',
        title: `Publish cost: ${c.cfg.messages} broadcasts of 64 B POSTed to A one at a time, one client per instance`,
      },
    ];
  }
  if (c.scenario === 'history') {
    return [
      {
        id: c.id,
        kind: 'history',
        title: `History memory: ${c.cfg.messages} room broadcasts per payload size, ${c.cfg.perRoom} per room, no client`,
      },
    ];
  }
  if (c.scenario === 'recovery' && c.redis) {
    return [
      {
        id: `recovery-redis-connect-${c.clients}`,
        kind: 'connect',
        title: `Recovery with Redis: connect ${c.clients} clients split over 2 instances (hub-redis-recovery: subprotocol ws-hub.recovery and a recover frame first)`,
      },
      ...c.payloads.map((p) => ({
        id: `${c.id}-${p}`,
        kind: 'broadcast',
        title: `Recovery with Redis: broadcast to ${c.clients} clients on 2 instances, ${p === 1024 ? '1 KiB' : `${p} B`} payload, POSTed to A, CPU of both instances, recovery off (hub-redis) vs on (hub-redis-recovery)`,
      })),
    ];
  }
  if (c.scenario === 'recovery') {
    return [
      {
        id: `recovery-connect-${c.clients}`,
        kind: 'connect',
        title: `Recovery: connect ${c.clients} clients (hub-recovery: subprotocol ws-hub.recovery and a recover frame first)`,
      },
      ...c.payloads.map((p) => ({
        id: `${c.id}-${p}`,
        kind: 'broadcast',
        title: `Recovery: broadcast to ${c.clients} clients, ${p === 1024 ? '1 KiB' : `${p} B`} payload, recovery off (hub) vs on (hub-recovery)`,
      })),
    ];
  }
  if (c.scenario === 'broadcast') {
    const t = c.payloads.map((p) => ({
      id: `broadcast-${c.clients}-${p}`,
      kind: 'broadcast',
      title: `Broadcast fan-out: ${c.clients} clients, ${p === 1024 ? '1 KiB' : `${p} B`} payload, 50 broadcasts`,
    }));
    if (c.alsoConnect)
      t.unshift({
        id: `connect-${c.clients}`,
        kind: 'connect',
        title: `Connect: ${c.clients} clients (200 handshakes in flight)`,
      });
    return t;
  }
  const titles = {
    connect: `Connect: ${c.clients} clients (200 handshakes in flight)`,
    echo: `Closed-loop echo: ${c.clients} clients, one message in flight each, ${c.durationMs / 1000} s`,
    paced: `Paced echo: ${c.clients} clients, ${c.rate} msg/s total, ${c.durationMs / 1000} s`,
    heartbeat: `Heartbeat: ${c.clients} idle clients, ${c.pingIntervalMs} ms ping interval, ${c.windowMs / 1000} s window`,
    cluster: `Cross-instance broadcast (Redis): ${c.clients} clients split over 2 instances, 64 B, 50 broadcasts POSTed to A`,
  };
  return [{ id: c.id, kind: c.scenario, title: titles[c.scenario] }];
}

// ---------------------------------------------------------------- report

// data[tableId][target] = [row per repetition]
const data = {};
const warnings = [];
const skipped = [];
const runLog = [];
let startedAt = new Date();
// What the report header describes; replaced by the stored run with --from-json.
let META = { argv, quick: QUICK, reps: REPS, client: CLIENT, elapsedSec: null, machine: null };
let cases = [];
let activeTargets = [];
let CLK_TCK = 100;

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v, dec) => (v == null || Number.isNaN(v) ? '—' : Number(v).toFixed(dec));
const fmtRatio = (r) => (r == null || !Number.isFinite(r) ? '—' : `${r.toFixed(2)}x`);

function summary(tableId, target, key) {
  const rows = data[tableId]?.[target] ?? [];
  const vals = rows.map((r) => r[key]).filter((v) => typeof v === 'number' && !Number.isNaN(v));
  if (!vals.length) return null;
  return { median: median(vals), min: Math.min(...vals), max: Math.max(...vals), n: vals.length };
}

function ratio(tableId, target, key, baseline, baselineKey = key) {
  const a = summary(tableId, target, key);
  const b = summary(tableId, baseline, baselineKey);
  if (!a || !b || !b.median) return null;
  return a.median / b.median;
}

function renderTable(tab, caseTargets, baseline) {
  const lines = [
    `### ${tab.title}`,
    '',
    `| metric | target | median | min | max | vs ${baseline} |`,
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const m of tab.metrics ?? M[tab.kind]) {
    for (const t of caseTargets) {
      const s = summary(tab.id, t, m.key);
      if (!s) continue;
      const r = m.ratio === false ? null : ratio(tab.id, t, m.key, baseline, m.ratioKey);
      lines.push(
        `| ${m.label} | ${t} | ${fmt(s.median, m.dec)} | ${fmt(s.min, m.dec)} | ${fmt(s.max, m.dec)} | ${fmtRatio(r)} |`,
      );
    }
  }
  const reps = Math.max(0, ...caseTargets.map((t) => data[tab.id]?.[t]?.length ?? 0));
  if (reps === 0) return null;
  lines.push('', `<sub>${reps} run(s) per target.</sub>`, '');
  if (tab.kind === 'history') {
    const parts = [64, 1024].map((p) => {
      const on = summary(tab.id, 'hub-recovery', `heap${p}`);
      const off = summary(tab.id, 'hub', `heap${p}`);
      return on && off ? `${p} B data: ${fmt(on.median - off.median, 0)} bytes` : null;
    });
    if (parts.some(Boolean))
      lines.push(
        `History memory per stored message (heap after a full GC, hub-recovery minus hub, medians): ${parts.filter(Boolean).join('; ')}. Each message is one history entry (one room stream); the hub row is what the same requests leave behind without recovery.`,
        '',
      );
  }
  if (tab.kind === 'publish') {
    lines.push(
      '`hub` is one instance without Redis: its A figure is the cost of the HTTP request through Nest and Express (about 0.6 ms, the demo, not the hub) plus serialising and delivering to one client. `hub-redis` minus `hub` on A is what publishing to Redis costs the publisher; B is what receiving a message costs every other instance that has a recipient (decode, one delivery); redis-server is the Redis side of one publish to 2 subscribed instances (with recovery: the history script as well).',
      '',
    );
  }
  if (tab.kind === 'storm') {
    lines.push(
      "Clients are `ws-hub/client` (built, from dist/) on the `ws` WebSocket, default backoff (first retry after random(0, 500 ms), full jitter; after a drain's 1012, random(0, 1 s)); the url function returns B once A is signalled (a load balancer that took A out). Times are per client from the signal (SIGKILL, or SIGTERM for a drain: its clients leave over `HUB_DRAIN_MS` by design) to its next welcome. With admission control, B answers handshakes past its rate 503 with a spreading `Retry-After`, which the clients wait. `raw-ws-pair` is the same storm against two raw `ws` servers without Redis: the same clients in the same generator process, so its times are what the generator alone takes; the generator's event-loop delay says how far behind it ran.",
      '',
    );
  }
  if (tab.kind === 'scale' && !tab.metrics) {
    lines.push(
      'Steps in one process: connect the next clients, 1 s settle, RSS, 50 broadcasts of 64 B to everyone connected; at the top the heartbeat at its default 25 s interval is watched over a 30 s window (CPU measured, not scaled). RSS per connection = (RSS at the top − RSS before the first client) / clients; marginal = RSS growth over the last step / clients added.',
      '',
    );
  }
  if (tab.kind === 'cluster') {
    lines.push(
      'One generator process reads the clients of both instances, so frames for B queue behind those for A in the generator too: p99(B) − p99(A) is an upper bound on what Redis adds. The ratio on the B rows compares with the single-instance `hub` figure for the same number of clients.',
      '',
    );
  }
  return lines.join('\n');
}

function headline() {
  const pick = (prefix) => {
    const ids = Object.keys(data).filter((k) => k.startsWith(prefix));
    ids.sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]));
    return ids[0];
  };
  const cols = [];
  const b64 =
    pick('broadcast-') &&
    Object.keys(data)
      .filter((k) => /^broadcast-\d+-64$/.test(k))
      .sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]))[0];
  const b1k = Object.keys(data)
    .filter((k) => /^broadcast-\d+-1024$/.test(k))
    .sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]))[0];
  if (b64)
    cols.push({
      id: b64,
      key: 'cpuUsPerDelivery',
      label: `broadcast µs/delivery (${b64.split('-')[1]} clients, 64 B)`,
      dec: 2,
    });
  if (b1k)
    cols.push({
      id: b1k,
      key: 'cpuUsPerDelivery',
      label: `broadcast µs/delivery (${b1k.split('-')[1]} clients, 1 KiB)`,
      dec: 2,
    });
  const echo = Object.keys(data)
    .filter((k) => /^echo-\d+$/.test(k))
    .sort()[0];
  if (echo)
    cols.push({
      id: echo,
      key: 'cpuUsPerAck',
      label: `echo µs/ack (${echo.split('-')[1]} clients)`,
      dec: 2,
    });
  const conn = pick('connect-');
  if (conn) {
    cols.push({
      id: conn,
      key: 'cpuUsPerConnect',
      label: `connect CPU µs/conn (${conn.split('-')[1]} clients)`,
      dec: 0,
    });
    cols.push({
      id: conn,
      key: 'rssPerConnKiB',
      label: `RSS KiB/conn (${conn.split('-')[1]} clients)`,
      dec: 1,
    });
  }
  const hb = pick('heartbeat-');
  if (hb) {
    cols.push({ id: hb, key: 'cpuPctAtDefault', label: 'heartbeat % core @25 s', dec: 3 });
    cols.push({ id: hb, key: 'eldP99Ms', label: 'heartbeat ELD p99 ms', dec: 1 });
  }
  if (!cols.length) return '';
  const lines = [
    '## Headline (medians; ratio vs raw-ws in parentheses)',
    '',
    `| target | ${cols.map((c) => c.label).join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
  ];
  for (const t of activeTargets) {
    const cells = cols.map((c) => {
      const s = summary(c.id, t, c.key);
      return s ? `${fmt(s.median, c.dec)} (${fmtRatio(ratio(c.id, t, c.key, BASELINE))})` : '—';
    });
    if (cells.every((x) => x === '—')) continue;
    lines.push(`| ${t} | ${cells.join(' | ')} |`);
  }
  let lost = 0;
  let dup = 0;
  for (const [id, byT] of Object.entries(data)) {
    if (!id.startsWith('broadcast-') && !id.startsWith('cluster-')) continue;
    for (const rows of Object.values(byT)) {
      for (const r of rows) {
        lost += r.lost || 0;
        dup += r.dup || 0;
      }
    }
  }
  lines.push('', `Lost deliveries over all broadcast runs: ${lost}; duplicated: ${dup}.`, '');
  return lines.join('\n');
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'))
      .version;
  } catch {
    return 'not installed';
  }
}

function machine() {
  let cpu = 'unknown';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))[1];
  } catch {
    /* no procfs */
  }
  let redis = 'not found';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2];
  } catch {
    /* absent */
  }
  let fdLimit = '?';
  try {
    fdLimit = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  } catch {
    /* ignore */
  }
  return {
    cpu,
    cores: os.cpus().length,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    node: process.version,
    redis,
    fdLimit,
  };
}

/** Targets of one case, in plan order (pseudo-targets follow `hub`). */
function targetsOfCase(c) {
  const names = c.targets ?? activeTargets;
  return names.filter((t) => (PSEUDO[t] ? pseudoOn(t) : activeTargets.includes(t)));
}
// A pseudo-target runs the hub: with `hub` among the targets, or when named itself.
const pseudoOn = (name) =>
  activeTargets.includes(PSEUDO[name].base ?? 'hub') ||
  Boolean(ONLY_TARGETS?.includes(name) && (PSEUDO[name].base || existsSync(HUB_ENTRY)));

function reportTargets() {
  return [...new Set(cases.flatMap((c) => targetsOfCase(c)))];
}

/** The section this run's report goes to, or null for the main report. */
function sectionName() {
  if (SECTION) return SECTION;
  if (
    cases.length &&
    cases.every((c) => OPT_IN_SCENARIOS.includes(c.scenario) || c.scenario === 'history')
  )
    return [
      ...new Set(cases.map((c) => (c.scenario === 'history' ? 'recovery' : c.scenario))),
    ].join('+');
  return null;
}

/** Which build the hub targets ran: directory, dist/ build time, git commit and changed files. */
function hubBuild() {
  let when = 'not built';
  try {
    when = statSync(HUB_ENTRY).mtime.toISOString();
  } catch {
    /* not built */
  }
  let git = 'not a git checkout';
  try {
    const rev = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', 'src'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean).length;
    git = `${rev}${dirty ? ` + ${dirty} uncommitted file(s) in src/` : ''}`;
  } catch {
    /* no git */
  }
  return `\`${HUB_DIR === ROOT ? '.' : HUB_DIR}/dist\` built ${when}; this checkout at ${git}`;
}

function writeReport(partial = false) {
  const mc = META.machine ?? machine();
  const secs = META.elapsedSec ?? (Date.now() - startedAt.getTime()) / 1000;
  const out = [];
  const section = sectionName();
  // A section is a block below the keep marker: its headings sit one level down.
  const h = section ? '###' : '##';
  out.push(section ? `## Run: ${section}` : '# ws-hub benchmark results', '');
  if (partial) out.push('**PARTIAL: the run was interrupted.**', '');
  out.push(
    `- Date: ${startedAt.toISOString()} (took ${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s)`,
    `- Command: \`node bench/run.mjs${META.argv.length ? ' ' + META.argv.join(' ') : ''}\` (${section ? 'opt-in scenarios' : META.quick ? 'quick matrix' : 'full matrix'}, ${META.reps} repetition(s), targets interleaved, ${META.client === 'ws' ? '`ws` library' : 'minimal'} client in the generator)`,
    `- Machine: ${mc.cpu}, ${mc.cores} cores, ${mc.memGiB} GiB RAM, Linux ${mc.kernel}, fd hard limit ${mc.fdLimit}, CLK_TCK ${CLK_TCK}`,
    `- Node ${mc.node}; ws ${pkgVersion('ws')}; socket.io ${pkgVersion('socket.io')} (engine.io ${pkgVersion('engine.io')}); @nestjs/core ${pkgVersion('@nestjs/core')}; @nestjs/websockets ${pkgVersion('@nestjs/websockets')}; @nestjs/platform-ws ${pkgVersion('@nestjs/platform-ws')}; ioredis ${pkgVersion('ioredis')}; redis-server ${mc.redis}`,
    `- Targets: ${
      reportTargets()
        .map((n) => `\`${n}\``)
        .join(', ') || 'none'
    }; ratios are against \`${BASELINE}\` (the cross-instance and recovery tables use \`hub\` single-instance).`,
    `- Hub build: ${META.hubBuild ?? hubBuild()}`,
    '',
    'Server CPU (µs per delivered message / per ack, from /proc/<pid>/stat utime+stime) is the comparable figure: on a 2-core machine the load generator saturates a core before a ws server does, so deliveries/s and acks/s are bounded by the generator and are informative only. Latencies are measured by the generator (send to receive, same clock). Event-loop delay p99 is reported by each target over the measured window, minus the 10 ms sampling interval.',
    '',
  );
  if (skipped.length) out.push(`${h} Skipped`, '', ...skipped.map((s) => `- ${s}`), '');
  const w = [...new Set(warnings)];
  if (w.length) out.push(`${h} Warnings`, '', ...w.map((s) => `- ${s}`), '');
  if (!section) out.push(headline());
  const byScenario = {};
  for (const c of cases) (byScenario[c.scenario] ??= []).push(c);
  const order = [
    'connect',
    'broadcast',
    'echo',
    'paced',
    'heartbeat',
    'cluster',
    'scale',
    'storm',
    'recovery',
    'publish',
  ];
  const sections = Object.fromEntries(order.map((k) => [k, []]));
  for (const c of cases) {
    const tgts = targetsOfCase(c);
    for (const tab of tablesFor(c)) {
      const s = renderTable(tab, tgts, c.baseline ?? BASELINE);
      const kind = c.scenario === 'recovery' || c.scenario === 'history' ? 'recovery' : tab.kind;
      if (s) sections[kind].push(s);
    }
  }
  const names = {
    connect: 'Connect',
    broadcast: 'Broadcast fan-out',
    echo: 'Closed-loop echo',
    paced: 'Paced echo (latency)',
    heartbeat: 'Heartbeat cost',
    cluster: 'Cross-instance broadcast (Redis)',
    scale: 'Connections on one instance',
    storm: 'Reconnect storm',
    recovery: 'Message recovery cost',
    publish: 'Cost per publish (Redis)',
  };
  for (const k of order) {
    if (!sections[k].length) continue;
    // In a section the tables' own ### headings become ####.
    const tables = section ? sections[k].map((t) => t.replace(/^### /, '#### ')) : sections[k];
    out.push(`${h} ${names[k]}`, '', ...tables);
  }
  if (runLog.length) {
    const fails = runLog.filter((r) => r.error && r.attempt === 2);
    if (fails.length)
      out.push(
        `${h} Failed runs`,
        '',
        ...fails.map(
          (f) =>
            `- ${f.case} ${f.target} rep ${f.rep}: ${f.error.split('\n').slice(0, 4).join(' / ')}`,
        ),
        '',
      );
  }
  const text = out.join('\n');
  let keep = `${KEEP_MARKER}\n\n## Optimisation log\n\n_What was changed in the hub and what it bought (hand-written; preserved across runs)._\n`;
  let head = '';
  if (existsSync(OUT)) {
    const old = readFileSync(OUT, 'utf8');
    const i = old.indexOf(KEEP_MARKER);
    if (i >= 0) {
      keep = old.slice(i);
      head = old.slice(0, i);
    } else head = `${old.trimEnd()}\n\n`;
  }
  if (section) {
    // Replace the block of this name below the keep marker, or append it.
    const open = `<!-- bench:section ${section} -->`;
    const close = `<!-- /bench:section ${section} -->`;
    const block = `${open}\n\n${text.trimEnd()}\n\n${close}`;
    const a = keep.indexOf(open);
    const b = keep.indexOf(close);
    keep =
      a >= 0 && b > a
        ? keep.slice(0, a) + block + keep.slice(b + close.length)
        : `${keep.trimEnd()}\n\n${block}\n`;
    writeFileSync(OUT, `${head}${keep}`);
  } else writeFileSync(OUT, `${text}\n${keep}`);
  if (JSON_OUT)
    writeFileSync(
      JSON_OUT,
      JSON.stringify(
        {
          startedAt,
          elapsedSec: secs,
          meta: { ...META, machine: mc, elapsedSec: secs },
          clkTck: CLK_TCK,
          activeTargets,
          cases,
          data,
          runLog,
          warnings: w,
          skipped,
        },
        null,
        1,
      ),
    );
  return text;
}

// ---------------------------------------------------------------- main

async function probeCluster() {
  // Two hub instances with REDIS_URL on one redis-server: the Redis adapter is
  // active iff A's /stats reports `cluster.instances >= 2` within 5 s.
  let redis = null;
  const hubs = [];
  try {
    redis = await startRedis();
    for (const k of ['A', 'B'])
      hubs.push(await startTarget(TARGETS[3], { REDIS_URL: redis.url }, `hub-probe-${k}`));
    const deadline = Date.now() + 5000;
    let st = hubs[0].stats;
    while (Date.now() < deadline) {
      st = await httpJson(hubs[0].port, 'GET', '/stats').catch(() => st);
      if (!st.cluster || typeof st.cluster !== 'object')
        return 'ws-hub /stats has no `cluster` object with REDIS_URL set';
      if (st.cluster.instances >= 2) return null;
      await sleep(100);
    }
    return `ws-hub /stats cluster.instances stayed at ${st.cluster?.instances} with 2 instances on one Redis (Redis adapter not active)`;
  } catch (e) {
    return `probe failed: ${e.message.split('\n')[0]}`;
  } finally {
    for (const h of hubs) await killChild(h.child);
    if (redis) await killChild(redis.child);
  }
}

// --from-json=path: re-render the report from a --json dump, run nothing.
function renderFromJson(path) {
  const j = JSON.parse(readFileSync(resolve(ROOT, path), 'utf8'));
  const a = j.meta?.argv ?? j.argv ?? [];
  META = {
    argv: a,
    quick: j.meta?.quick ?? a.includes('--quick'),
    reps: j.meta?.reps ?? Number((a.find((x) => x.startsWith('--reps=')) ?? '').slice(7) || 3),
    client: j.meta?.client ?? (a.includes('--client=ws') ? 'ws' : 'fast'),
    elapsedSec: j.meta?.elapsedSec ?? j.elapsedSec ?? null,
    machine: j.meta?.machine ?? j.machine ?? null,
    hubBuild: j.meta?.hubBuild ?? 'not recorded',
  };
  startedAt = new Date(j.startedAt);
  CLK_TCK = j.clkTck ?? 100;
  Object.assign(data, j.data);
  runLog.push(...(j.runLog ?? []));
  warnings.push(...(j.warnings ?? []));
  skipped.push(...(j.skipped ?? []));
  activeTargets =
    j.activeTargets ??
    [...new Set(Object.values(j.data).flatMap((byT) => Object.keys(byT)))].filter(
      (t) => !PSEUDO[t],
    );
  cases = j.cases ?? buildCases();
  console.log(writeReport(false));
  console.log(`\nRe-rendered ${path} into ${OUT}.`);
}

async function main() {
  if (opt('from-json')) {
    renderFromJson(String(opt('from-json')));
    return;
  }
  try {
    CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    CLK_TCK = 100;
  }
  if (ONLY_SCENARIOS) {
    const known = [...ALL_SCENARIOS, ...OPT_IN_SCENARIOS];
    const bad = ONLY_SCENARIOS.filter((s) => !known.includes(s));
    if (bad.length)
      throw new Error(`unknown scenario(s) ${bad.join(',')}; known: ${known.join(',')}`);
  }
  META.hubBuild = hubBuild();
  if (ONLY_TARGETS) {
    const known = [...TARGETS.map((t) => t.name), ...Object.keys(PSEUDO)];
    const bad = ONLY_TARGETS.filter((s) => !known.includes(s));
    if (bad.length)
      throw new Error(`unknown target(s) ${bad.join(',')}; known: ${known.join(',')}`);
  }
  const hubBuilt = existsSync(HUB_ENTRY);
  activeTargets = TARGETS.filter((t) => !ONLY_TARGETS || ONLY_TARGETS.includes(t.name)).map(
    (t) => t.name,
  );
  if (activeTargets.includes('hub') && !hubBuilt) {
    const msg = 'ws-hub target skipped: dist/demo/main.js not found (run `npm run build` first)';
    console.log(`! ${msg}`);
    skipped.push(msg);
    activeTargets = activeTargets.filter((t) => t !== 'hub');
  }
  cases = buildCases();
  const fdHard = Number(machine().fdLimit) || 0;
  cases = cases.filter((c) => {
    if (fdHard && fdHard < c.clients + 512) {
      const msg = `${c.id} skipped: fd hard limit ${fdHard} < ${c.clients} clients + 512`;
      console.log(`! ${msg}`);
      skipped.push(msg);
      return false;
    }
    return true;
  });
  const stormCase = cases.find((c) => c.scenario === 'storm');
  if (stormCase) {
    let why = null;
    if (!hubBuilt) why = 'dist/demo/main.js not found';
    else if (!existsSync(HUB_CLIENT_ENTRY)) why = `${HUB_CLIENT_ENTRY} not found`;
    else if (machine().redis === 'not found') why = 'redis-server not installed';
    if (why) {
      const msg = `reconnect storm skipped: ${why}`;
      console.log(`! ${msg}`);
      skipped.push(msg);
      cases = cases.filter((c) => c.scenario !== 'storm');
    }
  }
  const clusterCase = cases.find((c) => c.scenario === 'cluster');
  if (clusterCase) {
    let why = null;
    if (!hubBuilt) why = 'dist/demo/main.js not found';
    else if (ONLY_TARGETS && !ONLY_TARGETS.includes('hub') && !ONLY_TARGETS.includes('hub-redis'))
      why = 'hub not among --targets';
    else if (!existsSync('/usr/bin/redis-server') && machine().redis === 'not found')
      why = 'redis-server not installed';
    else if (!DRY) why = await probeCluster();
    if (why) {
      const msg = `cross-instance (Redis) scenario skipped: ${why}`;
      console.log(`! ${msg}`);
      skipped.push(msg);
      cases = cases.filter((c) => c.scenario !== 'cluster');
    }
  }
  // Build the interleaved plan: for each repetition, for each case, every target.
  const plan = [];
  for (let rep = 1; rep <= REPS; rep++) {
    for (const c of cases) {
      const tgts = c.targets ?? activeTargets;
      for (const name of tgts) {
        if (PSEUDO[name]) {
          if (pseudoOn(name)) plan.push({ c, t: PSEUDO[name], rep });
        } else if (activeTargets.includes(name))
          plan.push({ c, t: TARGETS.find((x) => x.name === name), rep });
      }
    }
  }
  const estTotal = plan.reduce((a, p) => a + p.c.estSec + (p.t.instances ? 1 : 0) + 0.3, 0);
  console.log(
    `ws-hub bench: ${sectionName() ? `section ${sectionName()}` : QUICK ? 'quick matrix' : 'full matrix'}, ${cases.length} case(s) x ${REPS} rep(s), targets ${activeTargets.join(', ')}: ${plan.length} runs, estimated ${Math.ceil(estTotal / 60)} min`,
  );
  if (DRY) {
    for (const p of plan)
      console.log(`  rep ${p.rep}  ${p.c.id.padEnd(16)} ${p.t.name}  ~${p.c.estSec.toFixed(1)} s`);
    return;
  }
  startedAt = new Date();
  let i = 0;
  for (const p of plan) {
    i++;
    const t0 = Date.now();
    process.stdout.write(
      `[${String(i).padStart(3)}/${plan.length}] rep ${p.rep} ${p.c.id.padEnd(16)} ${p.t.name.padEnd(14)} `,
    );
    let line;
    // One retry: a target that dies at start-up (e.g. dist/ rebuilt mid-run)
    // should not leave a hole in the table; the first failure is kept as a warning.
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const r = await runOne(p.c, p.t, p.rep);
        const { rows, warn } = extract(p.c, r);
        for (const [id, row] of Object.entries(rows))
          ((data[id] ??= {})[p.t.name] ??= []).push(row);
        for (const w of warn) warnings.push(`${p.t.name} rep ${p.rep}: ${w}`);
        runLog.push({
          case: p.c.id,
          target: p.t.name,
          rep: p.rep,
          attempt,
          ms: Date.now() - t0,
          result: r,
        });
        line = brief(p.c, r) + (warn.length ? `  WARN: ${warn.join('; ')}` : '');
        break;
      } catch (e) {
        const msg = String(e.message || e);
        runLog.push({
          case: p.c.id,
          target: p.t.name,
          rep: p.rep,
          attempt,
          ms: Date.now() - t0,
          error: msg,
        });
        line = `FAILED: ${msg.replace(/\n/g, '\n      ')}`;
        if (interrupted) break;
        if (attempt === 1) {
          warnings.push(
            `${p.t.name} ${p.c.id} rep ${p.rep}: failed once and was retried: ${msg.split('\n')[0]}`,
          );
          console.log(`FAILED, retrying: ${msg.replace(/\n/g, '\n      ')}`);
          // dist/ being rebuilt: wait (bounded) for the entry point to come back.
          const entry = resolve(ROOT, p.t.script);
          for (let k = 0; k < 120 && !existsSync(entry); k++) await sleep(500);
          await sleep(1000);
          process.stdout.write(
            `[${String(i).padStart(3)}/${plan.length}] rep ${p.rep} ${p.c.id.padEnd(16)} ${p.t.name.padEnd(14)} `,
          );
        }
      }
    }
    console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s  ${line}`);
    if (i === plan.length || plan[i].rep !== p.rep) writeReport(i !== plan.length);
    await sleep(200); // let the kernel reap the closed sockets
  }
  const text = writeReport(false);
  console.log(`\n${text}`);
  const secs = (Date.now() - startedAt.getTime()) / 1000;
  console.log(
    `Total ${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s. Written to ${OUT}${JSON_OUT ? ` and ${JSON_OUT}` : ''}.`,
  );
}

function brief(c, r) {
  const f = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
  if (r.scenario === 'scale')
    return r.steps
      .map(
        (st) =>
          `${st.ready}: ${f(st.cpuUsPerConnect, 0)}µs/conn ${f(st.series.cpuUsPerDelivery, 2)}µs/deliv p99 ${f(st.series.latencyAll.p99)}ms`,
      )
      .concat(
        `rss/conn ${f(r.steps.at(-1).rssPerConnKiB, 2)}KiB, hb ${f(r.heartbeat.cpuPct, 2)}% eld p99 ${f(r.heartbeat.eldP99Ms)}ms`,
      )
      .join(' | ');
  if (r.scenario === 'storm')
    return `all back ${f(r.allBackMs, 0)}ms (p50 ${f(r.backP50Ms, 0)} p99 ${f(r.backP99Ms, 0)}), not back ${r.notBack}, refused ${r.refusedHandshakes}, failed attempts ${r.failedAttempts}, survivor eld p99 ${f(r.survivorEldP99Ms)}ms, ${f(r.survivorCpuUsPerHandshake, 0)}µs/reconnect`;
  if (r.publish)
    return `A ${f(r.publish.cpuUsPerPublishA, 0)}µs B ${f(r.publish.cpuUsPerPublishB, 0)}µs redis ${f(r.publish.redisCpuUsPerPublish)}µs per publish`;
  if (r.scenario === 'history')
    return r.passes
      .map((p) => `${p.payloadBytes}B: ${f(p.heapBytesPerMsg, 0)} B heap/msg`)
      .join(' | ');
  const con = `conn ${f(r.connect.connectMs, 0)}ms rss/conn ${f(r.connect.rssPerConnKiB)}KiB`;
  if (r.series)
    return `${con} | ${r.series.map((s) => `${s.payloadBytes}B ${f(s.cpuUsPerDelivery, 2)}µs/deliv ${f(s.deliveriesPerSec / 1000)}k/s p99 ${f(s.latencyAll.p99)}ms lost ${s.lost}`).join(' | ')}`;
  if (r.echo)
    return `${con} | ${f(r.echo.cpuUsPerAck, 2)}µs/ack ${f(r.echo.acksPerSec / 1000)}k/s p99 ${f(r.echo.latency.p99)}ms`;
  if (r.paced)
    return `${con} | p50 ${f(r.paced.latency.p50, 3)}ms p99 ${f(r.paced.latency.p99, 3)}ms ${f(r.paced.cpuUsPerAck, 2)}µs/ack`;
  if (r.heartbeat)
    return `${con} | ${f(r.heartbeat.cpuPct, 2)}% core, ${f(r.heartbeat.pingsPerClientPerInterval, 2)} pings/client/interval, peak ${f(r.heartbeat.peakPingsPer100msPct)}%/100ms, eld p99 ${f(r.heartbeat.eldP99Ms)}ms`;
  return con;
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    killAllSync();
    process.exit(1);
  },
);
