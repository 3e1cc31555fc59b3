#!/usr/bin/env node
// Token refresh at scale (issue 21): CPU per in-band refresh next to CPU per handshake.
//
//   npm run build && node bench/tokens.mjs [--clients=10000] [--window=60000] [--idle=20000]
//   (--lifetime=120 (s) and --before=60000 (ms) set the tokens and HUB_TOKEN_REFRESH_BEFORE_MS)
//
// Starts the demo (dist/demo/main.js) with HUB_JWT_SECRET, then:
// 1. connects N clients with HS256 JWTs without `exp` (no expiry): server CPU per handshake,
//    then `idle` ms with nothing to do: the server's idle CPU (heartbeat);
// 2. closes them and connects N clients with JWTs that expire 2 minutes out, with
//    HUB_TOKEN_REFRESH_BEFORE_MS=60000: the server asks each for a refresh about every minute
//    (45-60 s: at half the lifetime, up to a quarter of that earlier at random), the client
//    answers with a new JWT; over `window` ms server CPU per refresh = (CPU in the window -
//    idle CPU) / refreshes.
// Server CPU is utime+stime from /proc/<pid>/stat. Prints one JSON line and a Markdown table.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const N = Number(args.clients ?? 10_000);
const WINDOW_MS = Number(args.window ?? 60_000);
const IDLE_MS = Number(args.idle ?? 20_000);
const LIFETIME_S = Number(args.lifetime ?? 120);
const BEFORE_MS = Number(args.before ?? 60_000);
const SECRET = 'bench-tokens-secret';
const IN_FLIGHT = 200;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const encode = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function jwt(sub, expires) {
  const now = Math.floor(Date.now() / 1000);
  const claims = expires ? { sub, iat: now, exp: now + LIFETIME_S } : { sub, iat: now };
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const server = spawn(process.execPath, ['dist/demo/main.js'], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    HUB_JWT_SECRET: SECRET,
    HUB_TOKEN_REFRESH_BEFORE_MS: String(BEFORE_MS),
    HUB_METRICS: 'off',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverLog = '';
server.stdout.on('data', (d) => (serverLog = (serverLog + d).slice(-4000)));
server.stderr.on('data', (d) => (serverLog = (serverLog + d).slice(-4000)));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/stats`)).ok) break;
  } catch {
    /* not yet */
  }
  if (i > 600) throw new Error(`demo did not start:\n${serverLog}`);
  await sleep(50);
}

const counts = { refreshed: 0, expiring: 0, errors: 0, closes: {} };
const sockets = [];

function open(k, expires) {
  return new Promise((resolve, reject) => {
    const sub = `user-${k}`;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, [
      'ws-hub.v1',
      `bearer.${jwt(sub, expires)}`,
    ]);
    let id = 0;
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.event === 'welcome') resolve(ws);
      else if (frame.event === 'expiring') {
        counts.expiring++;
        ws.send(JSON.stringify({ event: 'refresh', id: ++id, data: { token: jwt(sub, true) } }));
      } else if (frame.event === 'refreshed') counts.refreshed++;
      else if (frame.event === 'error') counts.errors++;
    });
    ws.on('close', (code) => {
      counts.closes[code] = (counts.closes[code] ?? 0) + 1;
      reject(new Error(`closed ${code}`));
    });
    ws.on('error', () => undefined);
  });
}

/** Connects N clients, IN_FLIGHT at a time; the server CPU per handshake (ms). */
async function connectAll(expires) {
  const before = cpuMs(server.pid);
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) sockets.push(await open(next++, expires));
    }),
  );
  return {
    ms: Math.round(performance.now() - start),
    cpuUsPerHandshake: ((cpuMs(server.pid) - before) * 1000) / N,
  };
}

async function closeAll() {
  await Promise.all(
    sockets.splice(0).map(
      (ws) =>
        new Promise((resolve) => {
          ws.once('close', resolve);
          ws.close();
        }),
    ),
  );
  for (const k of Object.keys(counts.closes)) delete counts.closes[k];
}

try {
  const plain = await connectAll(false);
  await sleep(1000);
  let c0 = cpuMs(server.pid);
  await sleep(IDLE_MS);
  const idleCpuMsPerS = ((cpuMs(server.pid) - c0) * 1000) / IDLE_MS;
  await closeAll();

  const expiring = await connectAll(true);
  await sleep(1000);
  await fetch(`${base}/stats/reset`, { method: 'POST' });
  const r0 = counts.refreshed;
  c0 = cpuMs(server.pid);
  await sleep(WINDOW_MS);
  const windowCpuMs = cpuMs(server.pid) - c0;
  const refreshes = counts.refreshed - r0;
  const stats = await (await fetch(`${base}/stats`)).json();
  const result = {
    clients: N,
    handshakeCpuUs: { plain: plain.cpuUsPerHandshake, expiring: expiring.cpuUsPerHandshake },
    idleCorePct: idleCpuMsPerS / 10,
    windowMs: WINDOW_MS,
    refreshes,
    windowCorePct: windowCpuMs / (WINDOW_MS / 100),
    refreshCpuUs: refreshes
      ? ((windowCpuMs - (idleCpuMsPerS * WINDOW_MS) / 1000) * 1000) / refreshes
      : NaN,
    refreshErrors: counts.errors,
    closes: counts.closes,
    online: stats.online,
    eventLoopDelayP99Ms: stats.eventLoopDelayP99Ms,
  };
  console.log(JSON.stringify(result));
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  console.log(`
| ${N} connections | value |
| --- | ---: |
| server CPU per handshake, token without expiry (µs) | ${f(result.handshakeCpuUs.plain, 0)} |
| server CPU per handshake, expiring token (µs) | ${f(result.handshakeCpuUs.expiring, 0)} |
| server CPU per in-band refresh (µs, idle CPU subtracted) | ${f(result.refreshCpuUs, 0)} |
| refreshes in ${WINDOW_MS / 1000} s (each connection asked every 45-60 s with the defaults) | ${refreshes} |
| server % of one core, idle (no expiry) | ${f(result.idleCorePct, 2)} |
| server % of one core, while refreshing | ${f(result.windowCorePct, 2)} |
| event-loop delay p99 while refreshing (ms) | ${f(result.eventLoopDelayP99Ms)} |
| refresh errors / unexpected closes | ${counts.errors} / ${JSON.stringify(counts.closes)} |`);
} finally {
  for (const ws of sockets) ws.terminate();
  server.kill('SIGTERM');
}
