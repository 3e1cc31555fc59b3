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
//
// Every scenario-run gets fresh target process(es) and a fresh load-generator
// process. Targets are interleaved (A B C D A B C D ...) and the figures are
// medians over repetitions with min and max, plus the ratio of each median to
// the raw `ws` baseline of the same invocation.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const HUB_ENTRY = join(ROOT, 'dist/demo/main.js');
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
      .slice(1, 15)
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
    script: 'dist/demo/main.js',
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
const BASELINE = 'raw-ws';

// ---------------------------------------------------------------- scenarios

const ALL_SCENARIOS = ['connect', 'broadcast', 'echo', 'paced', 'heartbeat', 'cluster'];
const scenarioOn = (s) => !ONLY_SCENARIOS || ONLY_SCENARIOS.includes(s);

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

async function startTarget(t, extraEnv, label) {
  const port = await freePort();
  const child = spawnTracked(
    'node',
    [t.script],
    targetEnv({ PORT: String(port), ...extraEnv }),
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
        return { child, port, pid, proto: t.proto, path: t.path, stats: st };
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
    [join(BENCH, 'loadgen.mjs'), JSON.stringify({ ...cfg, deadlineMs: timeoutMs })],
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
      redis = await startRedis();
      for (const k of ['A', 'B'])
        servers.push(await startTarget(t, { ...envFor(c), REDIS_URL: redis.url }, `${label}${k}`));
    } else {
      servers.push(await startTarget(t, envFor(c), label));
    }
    const cfg = {
      scenario: c.scenario,
      servers: servers.map((s) => ({ port: s.port, proto: s.proto, path: s.path, pid: s.pid })),
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
    { key: 'cpuUsPerConnect', label: 'server CPU µs / connect', dec: 0 },
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

// Turn one loadgen result into { tableId: { metric: value } } rows.
function extract(c, r) {
  const rows = {};
  const warn = [];
  const conn = r.connect;
  if (conn.failed) warn.push(`${conn.failed} failed connects`);
  if (!conn.onlineOk)
    warn.push(`/stats online never reached ${c.clients}: ${JSON.stringify(conn.online)}`);
  if (r.frames?.badFrames) warn.push(`${r.frames.badFrames} unparseable frames`);
  if (r.frames?.unexpectedClose)
    warn.push(`${r.frames.unexpectedClose} clients closed unexpectedly`);
  if (c.scenario === 'connect' || c.alsoConnect) rows[`connect-${c.clients}`] = { ...conn };
  if (c.scenario === 'broadcast' || c.scenario === 'cluster') {
    for (const s of r.series) {
      const id = c.scenario === 'broadcast' ? `broadcast-${c.clients}-${s.payloadBytes}` : c.id;
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
  for (const m of M[tab.kind]) {
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
  if (conn)
    cols.push({
      id: conn,
      key: 'rssPerConnKiB',
      label: `RSS KiB/conn (${conn.split('-')[1]} clients)`,
      dec: 1,
    });
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

function writeReport(partial = false) {
  const mc = META.machine ?? machine();
  const secs = META.elapsedSec ?? (Date.now() - startedAt.getTime()) / 1000;
  const out = [];
  out.push('# ws-hub benchmark results', '');
  if (partial) out.push('**PARTIAL: the run was interrupted.**', '');
  out.push(
    `- Date: ${startedAt.toISOString()} (took ${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s)`,
    `- Command: \`node bench/run.mjs${META.argv.length ? ' ' + META.argv.join(' ') : ''}\` (${META.quick ? 'quick' : 'full'} matrix, ${META.reps} repetition(s), targets interleaved, ${META.client === 'ws' ? '`ws` library' : 'minimal'} client in the generator)`,
    `- Machine: ${mc.cpu}, ${mc.cores} cores, ${mc.memGiB} GiB RAM, Linux ${mc.kernel}, fd hard limit ${mc.fdLimit}, CLK_TCK ${CLK_TCK}`,
    `- Node ${mc.node}; ws ${pkgVersion('ws')}; socket.io ${pkgVersion('socket.io')} (engine.io ${pkgVersion('engine.io')}); @nestjs/core ${pkgVersion('@nestjs/core')}; @nestjs/websockets ${pkgVersion('@nestjs/websockets')}; @nestjs/platform-ws ${pkgVersion('@nestjs/platform-ws')}; ioredis ${pkgVersion('ioredis')}; redis-server ${mc.redis}`,
    `- Targets: ${activeTargets.map((n) => `\`${n}\``).join(', ') || 'none'}; ratios are against \`${BASELINE}\` (the cross-instance table uses \`hub\` single-instance).`,
    '',
    'Server CPU (µs per delivered message / per ack, from /proc/<pid>/stat utime+stime) is the comparable figure: on a 2-core machine the load generator saturates a core before a ws server does, so deliveries/s and acks/s are bounded by the generator and are informative only. Latencies are measured by the generator (send to receive, same clock). Event-loop delay p99 is reported by each target over the measured window, minus the 10 ms sampling interval.',
    '',
  );
  if (skipped.length) out.push('## Skipped', '', ...skipped.map((s) => `- ${s}`), '');
  const w = [...new Set(warnings)];
  if (w.length) out.push('## Warnings', '', ...w.map((s) => `- ${s}`), '');
  out.push(headline());
  const byScenario = {};
  for (const c of cases) (byScenario[c.scenario] ??= []).push(c);
  const order = ['connect', 'broadcast', 'echo', 'paced', 'heartbeat', 'cluster'];
  const sections = { connect: [], broadcast: [], echo: [], paced: [], heartbeat: [], cluster: [] };
  for (const c of cases) {
    const tgts = c.targets
      ? c.targets.filter((t) => t === 'hub' || t === 'hub-redis')
      : activeTargets;
    for (const tab of tablesFor(c)) {
      const s = renderTable(tab, tgts, c.baseline ?? BASELINE);
      if (s) sections[tab.kind].push(s);
    }
  }
  const names = {
    connect: 'Connect',
    broadcast: 'Broadcast fan-out',
    echo: 'Closed-loop echo',
    paced: 'Paced echo (latency)',
    heartbeat: 'Heartbeat cost',
    cluster: 'Cross-instance broadcast (Redis)',
  };
  for (const k of order) if (sections[k].length) out.push(`## ${names[k]}`, '', ...sections[k]);
  if (runLog.length) {
    const fails = runLog.filter((r) => r.error && r.attempt === 2);
    if (fails.length)
      out.push(
        '## Failed runs',
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
  if (existsSync(OUT)) {
    const old = readFileSync(OUT, 'utf8');
    const i = old.indexOf(KEEP_MARKER);
    if (i >= 0) keep = old.slice(i);
  }
  writeFileSync(OUT, `${text}\n${keep}`);
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
      (t) => t !== 'hub-redis',
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
    const bad = ONLY_SCENARIOS.filter((s) => !ALL_SCENARIOS.includes(s));
    if (bad.length)
      throw new Error(`unknown scenario(s) ${bad.join(',')}; known: ${ALL_SCENARIOS.join(',')}`);
  }
  if (ONLY_TARGETS) {
    const known = [...TARGETS.map((t) => t.name), 'hub-redis'];
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
        if (name === 'hub-redis') plan.push({ c, t: HUB_REDIS, rep });
        else if (activeTargets.includes(name))
          plan.push({ c, t: TARGETS.find((x) => x.name === name), rep });
      }
    }
  }
  const estTotal = plan.reduce((a, p) => a + p.c.estSec + (p.t.instances ? 1 : 0) + 0.3, 0);
  console.log(
    `ws-hub bench: ${QUICK ? 'quick' : 'full'} matrix, ${cases.length} case(s) x ${REPS} rep(s), targets ${activeTargets.join(', ')}: ${plan.length} runs, estimated ${Math.ceil(estTotal / 60)} min`,
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
