#!/usr/bin/env node
// Resume cost of a recovering client in many rooms (issue 17): what one `recover` costs the hub
// and Redis, against a plain handshake plus the joins it replaces. See bench/README.md.
//
//   npm run build && node bench/resume-cost.mjs                 # 100 rooms, M = 0,100,1000, 7 reps
//   node bench/resume-cost.mjs --reps=5 --rooms=100 --messages=0,100,1000 --payload=64
//   node bench/resume-cost.mjs --hub=/tmp/snap --json=/tmp/resume.json
//
// Set-up: a private redis-server on a free port (never 6379; no persistence), one hub (the demo,
// dist/demo/main.js) with REDIS_URL and HUB_RECOVERY=on. One recovering client (subprotocols
// ws-hub.v1 + ws-hub.recovery, first frame `recover`) joins `--rooms` rooms and is closed; then,
// for each M of `--messages`, M broadcasts of `--payload` bytes go to its rooms round-robin
// (POST /broadcast, rooms: [one room]) while it is away, and it resumes with its credential and
// the positions it holds. Cases are interleaved within each repetition. Measured per resume:
//   - hub CPU: sum of `/proc/<pid>/task/*/schedstat` run time (ns resolution, every thread) from
//     just before the TCP connect to 100 ms after the replay is complete, less what the process
//     burns idle over the same time (rate sampled for 500 ms right before);
//   - redis-server CPU, the same way;
//   - latency: connect → welcome, `recover` sent → welcome, `recover` sent → replay complete
//     (every recovered stream at the offset the welcome named);
//   - Redis bytes: INFO stats total_net_input_bytes / total_net_output_bytes over the same window,
//     less the INFO exchange itself (two back-to-back INFOs measured right before);
//   - bytes the client received on that connection (HTTP 101 response included).
// Comparisons, same hub, same window rules: `plain + joins` (subprotocol ws-hub.v1, welcome, then
// `--rooms` joins sent at once, done at the last `joined`) and `fresh recovering + joins`
// (`recover` with `{}`, welcome, then the joins). Every resume must say `recovered: true` and
// replay exactly M frames without a gap; anything else is counted and printed.
// Prints a Markdown table of medians (min-max); `--json` also writes every sample.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const a = argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (!a) return def;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : true;
};
const REPS = Number(opt('reps', 7));
const WARMUP = Number(opt('warmup', 2));
const ROOMS = Number(opt('rooms', 100));
const MESSAGES = String(opt('messages', '0,100,1000')).split(',').map(Number);
const PAYLOAD = Number(opt('payload', 64));
const TAIL_MS = Number(opt('tail-ms', 100));
const IDLE_MS = Number(opt('idle-ms', 500));
const HUB_DIR = resolve(String(opt('hub', ROOT)));
const JSON_OUT = opt('json');
const HUB_ENTRY = join(HUB_DIR, 'dist/demo/main.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- processes

const children = new Set();
function spawnChild(cmd, args, env, label) {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.tail = [];
  const keep = (d) => {
    for (const line of d.toString().split('\n')) if (line) child.tail.push(line);
    child.tail.splice(0, Math.max(0, child.tail.length - 40));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.label = label;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function killAll() {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(s, () => {
    killAll();
    process.exit(130);
  });

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function httpJson(port, method, path, body) {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path,
        agent: keepAlive,
        headers: data
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
          : {},
      },
      (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => {
          if (r.statusCode >= 300) return rej(new Error(`${method} ${path}: ${r.statusCode} ${b}`));
          try {
            res(b ? JSON.parse(b) : null);
          } catch (e) {
            rej(e);
          }
        });
      },
    );
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', rej);
    req.end(data);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** A RESP connection for INFO (its own exchange is subtracted from the byte counts). */
class Resp {
  constructor(port) {
    this.sock = net.connect(port, HOST);
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    this.sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drain();
    });
    this.ready = new Promise((r, j) => {
      this.sock.once('connect', r);
      this.sock.once('error', j);
    });
  }
  drain() {
    while (this.waiting.length) {
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0) return;
      const head = this.buf.subarray(0, nl).toString();
      if (head[0] !== '$') {
        this.buf = this.buf.subarray(nl + 2);
        this.waiting.shift()(head);
        continue;
      }
      const len = Number(head.slice(1));
      if (this.buf.length < nl + 2 + len + 2) return;
      const s = this.buf.subarray(nl + 2, nl + 2 + len).toString();
      this.buf = this.buf.subarray(nl + 2 + len + 2);
      this.waiting.shift()(s);
    }
  }
  cmd(...args) {
    return new Promise((r) => {
      this.waiting.push(r);
      this.sock.write(
        `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
      );
    });
  }
  async netBytes() {
    const s = await this.cmd('INFO', 'stats');
    const get = (k) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(s)?.[1]);
    return { in: get('total_net_input_bytes'), out: get('total_net_output_bytes') };
  }
  close() {
    this.sock.destroy();
  }
}

async function startRedis() {
  const port = await freePort();
  const child = spawnChild(
    'redis-server',
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'],
    process.env,
    'redis',
  );
  for (let i = 0; i < 100; i++) {
    try {
      const r = new Resp(port);
      await r.ready;
      const pong = await r.cmd('PING');
      r.close();
      if (pong === '+PONG') return { child, port };
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  throw new Error(`redis-server not ready: ${child.tail.join('\n')}`);
}

async function startHub(redisPort) {
  const port = await freePort();
  const child = spawnChild(
    process.execPath,
    [HUB_ENTRY],
    {
      ...process.env,
      PORT: String(port),
      HOST,
      HUB_PATH: '/ws',
      NODE_ENV: process.env.NODE_ENV || 'production',
      REDIS_URL: `redis://${HOST}:${redisPort}`,
      HUB_RECOVERY: 'on',
    },
    'hub',
  );
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`hub exited: ${child.tail.join('\n')}`);
    try {
      const st = await httpJson(port, 'GET', '/stats');
      if (typeof st.online === 'number') return { child, port, pid: child.pid };
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  throw new Error(`hub not ready: ${child.tail.join('\n')}`);
}

/** CPU time of every thread of a process, in µs (schedstat: ns). */
function cpuUs(pid) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread gone */
    }
  }
  return ns / 1000;
}

// ---------------------------------------------------------------- the client

const RECOVERY_PROTOCOLS = ['ws-hub.v1', 'ws-hub.recovery'];
const rooms = Array.from({ length: ROOMS }, (_, i) => `r${i}`);

/**
 * One connection: `mode` 'resume' (recover with the session and positions), 'fresh' (recover
 * with {} then join every room) or 'plain' (ws-hub.v1, join every room). Resolves when the
 * client is ready (replay complete / last joined) with the timings and counts.
 */
function connectClient(hubPort, mode, state) {
  return new Promise((res, rej) => {
    const t = { start: performance.now() };
    const ws = new WebSocket(
      `ws://${HOST}:${hubPort}/ws`,
      mode === 'plain' ? ['ws-hub.v1'] : RECOVERY_PROTOCOLS,
      {
        perMessageDeflate: false,
      },
    );
    const out = { ws, replayed: 0, gaps: 0, recovered: undefined, joinsAnswered: 0, errors: [] };
    const target = new Map(); // stream -> offset the replay must reach
    const finish = () => {
      t.done = performance.now();
      out.bytes = ws._socket.bytesRead;
      out.t = t;
      ws.removeAllListeners('message');
      ws.on('message', (raw) => onLive(raw));
      res(out);
    };
    const onLive = (raw) => {
      // After the measurement: keep positions current (nothing is published while connected).
      const f = JSON.parse(raw.toString());
      if (f.pos) advance(f.pos);
    };
    const advance = (pos) => {
      for (const [s, [off, ep]] of Object.entries(pos)) {
        const p = state.positions.get(s);
        if (p && (p.epoch !== ep || off !== p.offset + 1)) {
          out.gaps++;
          if (process.env.RESUME_DEBUG)
            console.error(`gap ${s}: had ${JSON.stringify(p)} got ${off} ${ep}`);
        }
        state.positions.set(s, { epoch: ep, offset: off });
      }
    };
    const replayDone = () =>
      [...target].every(([s, off]) => (state.positions.get(s)?.offset ?? -1) >= off);
    const joinAll = () => {
      for (const r of rooms)
        ws.send(JSON.stringify({ event: 'join', id: `j-${r}`, data: { room: r } }));
    };
    ws.on('error', rej);
    ws.on('open', () => {
      t.open = performance.now();
      if (mode === 'plain') return;
      if (mode === 'resume' && !state.session) return rej(new Error('no session'));
      const data =
        mode === 'resume'
          ? { session: state.session, streams: Object.fromEntries(state.positions) }
          : {};
      t.recover = performance.now();
      ws.send(JSON.stringify({ event: 'recover', id: 1, data }));
    });
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString());
      if (f.event === 'welcome') {
        t.welcome = performance.now();
        if (mode === 'plain') return joinAll();
        const rec = f.data.recovery;
        state.session = rec.session;
        state.clientId = f.data.clientId;
        out.recovered = rec.recovered;
        for (const [s, w] of Object.entries(rec.streams)) {
          const mine = state.positions.get(s);
          // A recovered stream continues from the client's offset (in the welcome's epoch: the
          // stream may have had none yet when the client was at offset 0), the replay follows.
          if (mode === 'resume' && w.recovered === true && mine) {
            state.positions.set(s, { epoch: w.epoch, offset: mine.offset });
            target.set(s, w.offset);
          } else state.positions.set(s, { epoch: w.epoch, offset: w.offset });
        }
        for (const s of state.positions.keys()) if (!(s in rec.streams)) state.positions.delete(s);
        if (mode === 'fresh') return joinAll();
        if (replayDone()) finish();
        return;
      }
      if (f.event === 'joined') {
        if (f.data?.pos)
          state.positions.set(`room:${f.data.room}`, {
            offset: f.data.pos[0],
            epoch: f.data.pos[1],
          });
        if (++out.joinsAnswered === rooms.length) finish();
        return;
      }
      if (f.event === 'error') {
        out.errors.push(f.data);
        if (String(f.id ?? '').startsWith('j-') && ++out.joinsAnswered === rooms.length) finish();
        return;
      }
      if (f.pos) {
        out.replayed++;
        advance(f.pos);
        if (t.welcome && mode === 'resume' && replayDone()) finish();
      }
    });
  });
}

function closeClient(ws) {
  return new Promise((r) => {
    if (ws.readyState === WebSocket.CLOSED) return r();
    ws.once('close', r);
    ws.close();
  });
}

async function waitOnline(hubPort, n) {
  for (let i = 0; i < 200; i++) {
    const st = await httpJson(hubPort, 'GET', '/stats');
    if (st.online === n) return;
    await sleep(25);
  }
  throw new Error(`hub online never reached ${n}`);
}

let published = 0;
async function publish(hubPort, m) {
  const p = 'x'.repeat(PAYLOAD);
  let next = 0;
  const worker = async () => {
    while (next < m) {
      const i = next++;
      const room = rooms[(published + i) % rooms.length];
      await httpJson(hubPort, 'POST', '/broadcast', {
        event: 'bench',
        data: { i, p },
        rooms: [room],
      });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  published += m;
}

/** Runs `fn` inside a measured window: hub and Redis CPU (idle subtracted), Redis bytes. */
async function measured(env, fn) {
  const { hub, redis, info } = env;
  const a0 = [cpuUs(hub.pid), cpuUs(redis.child.pid), performance.now()];
  await sleep(IDLE_MS);
  const a1 = [cpuUs(hub.pid), cpuUs(redis.child.pid), performance.now()];
  const idleHub = (a1[0] - a0[0]) / (a1[2] - a0[2]);
  const idleRedis = (a1[1] - a0[1]) / (a1[2] - a0[2]);
  const i0 = await info.netBytes();
  const i1 = await info.netBytes(); // back to back: what one INFO exchange adds
  const c0 = [cpuUs(hub.pid), cpuUs(redis.child.pid), performance.now()];
  const out = await fn();
  await sleep(TAIL_MS);
  const c1 = [cpuUs(hub.pid), cpuUs(redis.child.pid), performance.now()];
  const i2 = await info.netBytes();
  const wall = c1[2] - c0[2];
  return {
    ...out,
    hubCpuUs: c1[0] - c0[0] - idleHub * wall,
    redisCpuUs: c1[1] - c0[1] - idleRedis * wall,
    redisInBytes: i2.in - i1.in - (i1.in - i0.in),
    redisOutBytes: i2.out - i1.out - (i1.out - i0.out),
  };
}

// ---------------------------------------------------------------- main

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  if (!existsSync(HUB_ENTRY)) throw new Error(`${HUB_ENTRY} missing: npm run build`);
  const startedAt = new Date();
  const load0 = os.loadavg();
  const redis = await startRedis();
  const hub = await startHub(redis.port);
  const info = new Resp(redis.port);
  await info.ready;
  const env = { hub, redis, info };

  // The resuming client: a first connection that joins every room.
  const state = { session: undefined, positions: new Map() };
  let cur = await connectClient(hub.port, 'fresh', state);
  if (cur.errors.length) throw new Error(`joins refused: ${JSON.stringify(cur.errors[0])}`);
  const cases = [
    ...MESSAGES.map((m) => ({
      id: `resume-${m}`,
      label: `resume, ${m} missed`,
      mode: 'resume',
      m,
    })),
    { id: 'fresh', label: `fresh recovering + ${ROOMS} joins`, mode: 'fresh' },
    { id: 'plain', label: `plain v1 + ${ROOMS} joins`, mode: 'plain' },
  ];
  const samples = Object.fromEntries(cases.map((c) => [c.id, []]));
  const problems = [];
  for (let rep = -WARMUP; rep < REPS; rep++) {
    for (const c of cases) {
      let s;
      if (c.mode === 'resume') {
        await closeClient(cur.ws);
        await waitOnline(hub.port, 0);
        await publish(hub.port, c.m);
        const before = published;
        s = await measured(env, () => connectClient(hub.port, 'resume', state));
        cur = s;
        if (s.recovered !== true || s.gaps || s.replayed !== c.m)
          problems.push(
            `${c.id} rep ${rep}: recovered=${s.recovered} replayed=${s.replayed}/${c.m} gaps=${s.gaps} (published ${before})`,
          );
      } else {
        const other = { session: undefined, positions: new Map() };
        s = await measured(env, () => connectClient(hub.port, c.mode, other));
        if (s.errors.length)
          problems.push(
            `${c.id} rep ${rep}: ${s.errors.length} error replies, first ${JSON.stringify(s.errors[0])}`,
          );
        await closeClient(s.ws);
        await waitOnline(hub.port, 1);
      }
      const row = {
        hubCpuUs: s.hubCpuUs,
        redisCpuUs: s.redisCpuUs,
        connectToWelcomeMs: s.t.welcome - s.t.start,
        recoverToWelcomeMs: s.t.recover !== undefined ? s.t.welcome - s.t.recover : null,
        totalMs: s.t.done - s.t.start,
        afterWelcomeMs: s.t.done - s.t.welcome,
        clientBytes: s.bytes,
        redisInBytes: s.redisInBytes,
        redisOutBytes: s.redisOutBytes,
        replayed: s.replayed,
        recovered: s.recovered,
        load1: os.loadavg()[0],
      };
      if (rep >= 0) samples[c.id].push(row);
      process.stderr.write(
        `rep ${rep} ${c.id.padEnd(12)} hub ${row.hubCpuUs.toFixed(0)} µs redis ${row.redisCpuUs.toFixed(0)} µs total ${row.totalMs.toFixed(1)} ms client ${row.clientBytes} B redis in/out ${row.redisInBytes}/${row.redisOutBytes} B replayed ${row.replayed}\n`,
      );
    }
  }
  info.close();
  const load1 = os.loadavg();

  const fmt = (xs, dec = 0) => {
    const v = xs.filter((x) => x !== null && x !== undefined);
    if (!v.length) return '—';
    const f = (x) => x.toFixed(dec);
    return `${f(median(v))} (${f(Math.min(...v))}-${f(Math.max(...v))})`;
  };
  const cols = [
    ['hub CPU µs', 'hubCpuUs', 0],
    ['redis-server CPU µs', 'redisCpuUs', 0],
    ['connect → welcome ms', 'connectToWelcomeMs', 1],
    ['`recover` → welcome ms', 'recoverToWelcomeMs', 1],
    ['connect → ready ms', 'totalMs', 1],
    ['bytes to the client', 'clientBytes', 0],
    ['Redis bytes in', 'redisInBytes', 0],
    ['Redis bytes out', 'redisOutBytes', 0],
  ];
  const lines = [
    `| case | ${cols.map((c) => c[0]).join(' | ')} |`,
    `| --- | ${cols.map(() => '---:').join(' | ')} |`,
    ...cases.map(
      (c) =>
        `| ${c.label} | ${cols
          .map(([, k, d]) =>
            fmt(
              samples[c.id].map((r) => r[k]),
              d,
            ),
          )
          .join(' | ')} |`,
    ),
  ];
  const header = [
    `Resume cost, ${ROOMS} rooms, ${PAYLOAD} B payload, ${REPS} reps (+${WARMUP} warm-up), medians (min-max)`,
    `- Date: ${startedAt.toISOString()}; load average before ${load0.map((x) => x.toFixed(1)).join(' ')}, after ${load1.map((x) => x.toFixed(1)).join(' ')}`,
    `- Command: \`node bench/resume-cost.mjs ${argv.join(' ')}\``,
    `- Hub: ${HUB_ENTRY}; Node ${process.version}`,
    problems.length
      ? `- PROBLEMS: ${problems.join('; ')}`
      : '- Every resume: recovered true, exactly M frames replayed, no gap.',
  ];
  console.log([...header, '', ...lines].join('\n'));
  if (typeof JSON_OUT === 'string')
    writeFileSync(
      resolve(ROOT, JSON_OUT),
      JSON.stringify({ startedAt, argv, load0, load1, problems, samples }, null, 1),
    );
  await closeClient(cur.ws);
}

main()
  .then(() => {
    killAll();
    process.exit(0);
  })
  .catch((e) => {
    console.error(e);
    killAll();
    process.exit(1);
  });
