// Load generator for the ws-hub benchmark suite. Spawned by bench/run.mjs,
// one process per scenario-run:
//
//   node bench/loadgen.mjs '<json config>'
//
// It opens `clients` WebSocket clients against 127.0.0.1 (at most
// `concurrency` handshakes in flight), runs one scenario, reads the server's
// CPU time (utime+stime, /proc/<pid>/stat) and RSS (VmRSS, /proc/<pid>/status)
// around the measured window, and prints one line `RESULT <json>` on stdout.
// Diagnostics go to stderr.
//
// Config (all times in ms):
//   scenario     connect | broadcast | echo | paced | heartbeat | cluster
//   servers      [{ port, proto: "ws"|"sio", path, pid }]  clients are split
//                round-robin; HTTP (POST /broadcast, /stats) goes to servers[0]
//   clients, concurrency, clkTck, measureRss, settleMs, deadlineMs
//   broadcast/cluster: payloads [bytes...], broadcasts, warmup, stallMs
//   echo:      warmupMs, durationMs
//   paced:     rate (msg/s, all clients together), durationMs
//   heartbeat: pingIntervalMs, windowMs
//
// Protocols: "ws" = JSON text frames {"event","id","data"} (ws-hub, raw ws);
// "sio" = Socket.IO v5 / Engine.IO v4 spoken directly over `ws` (open "0",
// CONNECT "40", EVENT "42", ACK "43<id>", ping "2" answered by "3"), so the
// generator costs the same per frame whatever the target.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

const cfg = JSON.parse(process.argv[2] || '{}');
const HOST = '127.0.0.1';
const BENCH_EVENT = 'bench';
const ECHO_DATA = '0123456789abcdef';
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => process.stderr.write(`[loadgen] ${a.join(' ')}\n`);

// ---------------------------------------------------------------- plumbing

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(3);
}, 1000).unref();

if (cfg.deadlineMs) {
  setTimeout(
    () => finish({ error: `loadgen deadline of ${cfg.deadlineMs} ms exceeded` }, 2),
    cfg.deadlineMs,
  ).unref();
}

let finished = false;
function finish(result, code = 0) {
  if (finished) return;
  finished = true;
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
}

function cpuTicks(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // fields 14 (utime) and 15 (stime)
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(srv, method, path, body) {
  return new Promise((resolve, reject) => {
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(
      {
        host: HOST,
        port: srv.port,
        method,
        path,
        agent,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: 30000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode < 200 || res.statusCode >= 300) {
            reject(new Error(`${method} ${path} -> ${res.statusCode} ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch {
            resolve({ raw: text });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const getStats = (srv) => request(srv, 'GET', '/stats');
const resetStats = (srv) => request(srv, 'POST', '/stats/reset').catch(() => null);

function pct(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function latencySummary(arr, n) {
  const s = Float64Array.from(arr.subarray(0, n)).sort();
  return { n, p50: pct(s, 50), p99: pct(s, 99), max: n ? s[n - 1] : null };
}

// Server-side CPU / RSS / event-loop probes over all target processes.
function cpuAll() {
  return servers.map((s) => cpuTicks(s.pid));
}
function cpuUsSince(before) {
  const after = cpuAll();
  return after.map((a, i) => ((a - before[i]) * 1e6) / clkTck);
}
// Event-loop delay from each target's /stats, minus the histogram's sampling
// interval (eventLoopDelayResolutionMs, 10 ms when absent): the raw histogram
// records the time between timer ticks, so an idle loop reads ~10 ms.
async function eldAll() {
  const st = await Promise.all(servers.map((s) => getStats(s).catch(() => ({}))));
  const pick = (field) =>
    Math.max(
      ...st.map((x) => {
        const v = x[field];
        if (typeof v !== 'number') return NaN;
        const res =
          typeof x.eventLoopDelayResolutionMs === 'number' ? x.eventLoopDelayResolutionMs : 10;
        return Math.max(0, v - res);
      }),
    );
  return {
    stats: st,
    eldP99Ms: pick('eventLoopDelayP99Ms'),
    eldMaxMs: pick('eventLoopDelayMaxMs'),
  };
}

// ---------------------------------------------------------------- clients

const servers = cfg.servers.map((s) => ({ ...s, path: s.path || '/ws', proto: s.proto || 'ws' }));
const clkTck = cfg.clkTck || 100;
const N = cfg.clients;

const S = {
  errors: 0,
  lastError: null,
  unexpectedClose: 0,
  badFrames: 0,
  otherFrames: 0,
  welcomes: 0,
};

class Client {
  constructor(idx, grp) {
    this.idx = idx;
    this.grp = grp; // index into servers
    this.sio = servers[grp].proto === 'sio';
    this.conn = null; // FastWs or ws.WebSocket
    this.ready = false;
    this.onReady = null;
  }
  send(str) {
    this.conn.send(str);
  }
}

const clients = [];
for (let i = 0; i < N; i++) clients.push(new Client(i, i % servers.length));

function wsPath(srv) {
  return srv.proto === 'sio' ? '/socket.io/?EIO=4&transport=websocket' : srv.path;
}

// ---- minimal WebSocket client (default): net.Socket with `onread`, so reads
// go straight from libuv into one shared buffer and a frame parser, with no
// stream or EventEmitter machinery per frame. Client frames are masked with a
// random key (RFC 6455); server frames are parsed in place. `--client=ws` in
// the runner switches to the `ws` library client for cross-checking.
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const READ_BUF = Buffer.allocUnsafe(256 * 1024);
const maskPool = Buffer.allocUnsafe(64 * 1024);
let maskPos = maskPool.length;

class FastWs {
  constructor(c, srv, onMessage) {
    this.c = c;
    this.onMessage = onMessage;
    this.open = false;
    this.closed = false;
    this.pending = null; // unparsed bytes (copied out of READ_BUF)
    this.fragments = null;
    this.key = randomBytes(16).toString('base64');
    const sock = net.connect({
      host: HOST,
      port: srv.port,
      onread: { buffer: READ_BUF, callback: (n, buf) => this.onRead(buf, n) },
    });
    this.sock = sock;
    sock.setNoDelay(true);
    this.timer = setTimeout(() => this.fail(new Error('handshake timeout')), 20000);
    sock.on('connect', () => {
      sock.write(
        `GET ${wsPath(srv)} HTTP/1.1\r\nHost: ${HOST}:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => {
      if (!this.closed) this.fail(new Error('socket closed'));
    });
  }

  fail(err) {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.closed = true;
    S.errors++;
    S.lastError = err.message;
    if (this.c.ready && !finished) S.unexpectedClose++;
    this.c.ready = false;
    this.c.onReady(err);
    this.sock.destroy();
  }

  onRead(buf, n) {
    let data = buf.subarray(0, n);
    if (this.pending !== null) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    if (!this.open) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = Buffer.from(data);
        return;
      }
      const head = data.toString('latin1', 0, end);
      const accept = createHash('sha1')
        .update(this.key + WS_GUID)
        .digest('base64');
      if (
        !head.startsWith('HTTP/1.1 101') ||
        !head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)
      ) {
        this.fail(new Error(`handshake failed: ${head.split('\r\n', 1)[0]}`));
        return;
      }
      clearTimeout(this.timer);
      this.open = true;
      if (!this.c.sio) {
        this.c.ready = true;
        this.c.onReady(null);
      }
      data = data.subarray(end + 4);
    }
    let off = 0;
    const len = data.length;
    while (len - off >= 2) {
      const b0 = data[off];
      const b1 = data[off + 1];
      if (b1 & 0x80) {
        this.fail(new Error('masked server frame'));
        return;
      }
      let plen = b1 & 0x7f;
      let hdr = 2;
      if (plen === 126) {
        if (len - off < 4) break;
        plen = data.readUInt16BE(off + 2);
        hdr = 4;
      } else if (plen === 127) {
        if (len - off < 10) break;
        plen = data.readUInt32BE(off + 2) * 4294967296 + data.readUInt32BE(off + 6);
        hdr = 10;
      }
      if (len - off < hdr + plen) break;
      const payload = data.subarray(off + hdr, off + hdr + plen);
      off += hdr + plen;
      this.frame(b0 & 0x0f, (b0 & 0x80) !== 0, payload);
      if (this.closed) return;
    }
    if (off < len) this.pending = Buffer.from(data.subarray(off));
  }

  frame(opcode, fin, payload) {
    if (opcode === 1 || opcode === 2 || opcode === 0) {
      if (!fin || this.fragments !== null) {
        (this.fragments ??= []).push(Buffer.from(payload));
        if (!fin) return;
        payload = Buffer.concat(this.fragments);
        this.fragments = null;
      }
      this.onMessage(this.c, payload);
    } else if (opcode === 9) {
      this.write(10, payload);
      onPing(now());
    } else if (opcode === 8) {
      this.write(8, payload.subarray(0, 2));
      this.closed = true;
      if (this.c.ready && !finished) S.unexpectedClose++;
      this.c.ready = false;
      this.c.onReady(new Error('closed by server'));
      this.sock.end();
    }
  }

  write(opcode, payload) {
    const plen = payload.length;
    const hdr = plen < 126 ? 2 : plen < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(hdr + 4 + plen);
    out[0] = 0x80 | opcode;
    if (hdr === 2) out[1] = 0x80 | plen;
    else if (hdr === 4) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(plen, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeUInt32BE(Math.floor(plen / 4294967296), 2);
      out.writeUInt32BE(plen >>> 0, 6);
    }
    if (maskPos + 4 > maskPool.length) {
      randomFillSync(maskPool);
      maskPos = 0;
    }
    const m0 = (out[hdr] = maskPool[maskPos]);
    const m1 = (out[hdr + 1] = maskPool[maskPos + 1]);
    const m2 = (out[hdr + 2] = maskPool[maskPos + 2]);
    const m3 = (out[hdr + 3] = maskPool[maskPos + 3]);
    maskPos += 4;
    const o = hdr + 4;
    for (let i = 0; i < plen; i += 4) {
      out[o + i] = payload[i] ^ m0;
      if (i + 1 < plen) out[o + i + 1] = payload[i + 1] ^ m1;
      if (i + 2 < plen) out[o + i + 2] = payload[i + 2] ^ m2;
      if (i + 3 < plen) out[o + i + 3] = payload[i + 3] ^ m3;
    }
    this.sock.write(out);
  }

  send(str) {
    if (!this.closed) this.write(1, Buffer.from(str));
  }
}

function openClient(c, done) {
  let settled = false;
  c.onReady = (err) => {
    if (settled) return;
    settled = true;
    done(err);
  };
  const srv = servers[c.grp];
  const onMessage = c.sio ? onSioMessage : onWsMessage;
  if (cfg.client !== 'ws') {
    c.conn = new FastWs(c, srv, onMessage);
    return;
  }
  const ws = new WebSocket(`ws://${HOST}:${srv.port}${wsPath(srv)}`, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    handshakeTimeout: 20000,
    maxPayload: 64 * 1024 * 1024,
  });
  c.conn = ws;
  ws.on('open', () => {
    if (!c.sio) {
      c.ready = true;
      c.onReady(null);
    }
  });
  ws.on('message', (buf) => onMessage(c, buf));
  ws.on('ping', () => onPing(now()));
  ws.on('error', (e) => {
    S.errors++;
    S.lastError = e.message;
    c.onReady(e);
  });
  ws.on('close', () => {
    if (c.ready && !finished) S.unexpectedClose++;
    c.ready = false;
    c.onReady(new Error('closed before ready'));
  });
}

function connectAll(concurrency, timeoutMs) {
  return new Promise((resolve) => {
    let next = 0;
    let done = 0;
    let failed = 0;
    const timer = setTimeout(
      () => resolve({ failed: failed + (N - done), timedOut: true }),
      timeoutMs,
    );
    const startOne = () => {
      if (next >= N) return;
      openClient(clients[next++], (err) => {
        if (err) failed++;
        if (++done === N) {
          clearTimeout(timer);
          resolve({ failed, timedOut: false });
        } else startOne();
      });
    };
    for (let k = 0; k < Math.min(concurrency, N); k++) startOne();
  });
}

// ---------------------------------------------------------------- frames

function onWsMessage(c, buf) {
  const t = now();
  let m;
  try {
    m = JSON.parse(buf.toString());
  } catch {
    S.badFrames++;
    return;
  }
  const ev = m === null ? undefined : m.event;
  if (ev === BENCH_EVENT) onBroadcast(c, m.data, t);
  else if (ev === 'ack') onAck(m.id, m.data, t);
  else if (ev === 'welcome') S.welcomes++;
  else S.otherFrames++;
}

function digitsEnd(s, i) {
  let c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
  return i;
}

function onSioMessage(c, buf) {
  const t = now();
  const s = buf.toString();
  const type = s.charCodeAt(0);
  if (type === 52) {
    // engine.io "message"; socket.io packet type follows
    const sub = s.charCodeAt(1);
    try {
      if (sub === 50) {
        const arr = JSON.parse(s.slice(digitsEnd(s, 2)));
        if (arr[0] === BENCH_EVENT) onBroadcast(c, arr[1], t);
        else S.otherFrames++;
      } else if (sub === 51) {
        const j = digitsEnd(s, 2);
        onAck(Number(s.slice(2, j)), JSON.parse(s.slice(j))[0], t);
      } else if (sub === 48) {
        c.ready = true;
        c.onReady(null);
      } else if (sub === 52) {
        c.onReady(new Error(`socket.io connect_error ${s.slice(0, 200)}`));
      } else S.otherFrames++;
    } catch {
      S.badFrames++;
    }
  } else if (type === 50) {
    c.send('3');
    onPing(t);
  } else if (type === 48) {
    c.send('40');
  } else S.otherFrames++;
}

// ---------------------------------------------------------------- broadcast

const B = {
  total: 0,
  warmup: 0,
  expect: 0,
  counts: null,
  perSeq: null,
  padLen: null,
  lat: null,
  nLat: null,
  dup: 0,
  corrupt: 0,
  waitSeq: -1,
  wake: null,
  lastProgress: 0,
  lastRecv: 0,
};

function onBroadcast(c, d, t) {
  const seq = d === null || typeof d !== 'object' ? -1 : d.s;
  if (!(seq >= 0 && seq < B.total)) {
    S.badFrames++;
    return;
  }
  const k = c.idx * B.total + seq;
  if (B.counts[k]++ !== 0) {
    B.dup++;
    return;
  }
  if (typeof d.p !== 'string' || d.p.length !== B.padLen[seq]) B.corrupt++;
  B.lastProgress = t;
  if (seq >= B.warmup) {
    const g = c.grp;
    B.lat[g][B.nLat[g]++] = t - d.t;
    B.lastRecv = t;
  }
  if (++B.perSeq[seq] >= B.expect && seq === B.waitSeq && B.wake) B.wake(true);
}

function waitSeq(seq, stallMs) {
  return new Promise((resolve) => {
    if (B.perSeq[seq] >= B.expect) return resolve(true);
    B.waitSeq = seq;
    const iv = setInterval(() => {
      if (now() - B.lastProgress > stallMs) done(false);
    }, 50);
    function done(ok) {
      clearInterval(iv);
      B.wake = null;
      B.waitSeq = -1;
      resolve(ok);
    }
    B.wake = done;
  });
}

async function broadcastSeries(payloadBytes, readyCount) {
  const warmup = cfg.warmup ?? 2;
  const count = cfg.broadcasts ?? 50;
  const total = warmup + count;
  Object.assign(B, {
    total,
    warmup,
    expect: readyCount,
    counts: new Uint8Array(N * total),
    perSeq: new Uint32Array(total),
    padLen: new Int32Array(total),
    lat: servers.map(() => new Float64Array(N * count)),
    nLat: servers.map(() => 0),
    dup: 0,
    corrupt: 0,
    lastRecv: 0,
  });
  const stallMs = cfg.stallMs ?? 3000;
  let stalls = 0;
  let reportedMismatch = 0;
  let cpu0 = null;
  let lg0 = null;
  let t0 = 0;
  for (let seq = 0; seq < total; seq++) {
    if (seq === warmup) {
      await Promise.all(servers.map(resetStats));
      cpu0 = cpuAll();
      lg0 = process.cpuUsage();
    }
    const t = now();
    if (seq === warmup) t0 = t;
    const head = `{"s":${seq},"t":${t.toFixed(3)},"p":"`;
    const padLen = Math.max(0, payloadBytes - head.length - 2);
    B.padLen[seq] = padLen;
    const body = `{"event":"${BENCH_EVENT}","data":${head}${'x'.repeat(padLen)}"}}`;
    B.lastProgress = t;
    const res = request(servers[0], 'POST', '/broadcast', body);
    const ok = await waitSeq(seq, stallMs);
    const r = await res;
    if (!ok) stalls++;
    if (servers.length === 1 && r.delivered !== readyCount) reportedMismatch++;
  }
  const serverCpuUs = cpuUsSince(cpu0);
  const lg = process.cpuUsage(lg0);
  const elapsedMs = B.lastRecv - t0;
  const eld = await eldAll();
  await sleep(100); // late duplicates
  let delivered = 0;
  for (const n of B.nLat) delivered += n;
  const expected = readyCount * count;
  const cpuTotal = serverCpuUs.reduce((a, b) => a + b, 0);
  const out = {
    payloadBytes,
    broadcasts: count,
    expected,
    delivered,
    lost: expected - delivered,
    dup: B.dup,
    corrupt: B.corrupt,
    stalls,
    reportedMismatch,
    elapsedMs,
    deliveriesPerSec: elapsedMs > 0 ? (delivered / elapsedMs) * 1000 : null,
    serverCpuUs: cpuTotal,
    serverCpuUsPerServer: serverCpuUs,
    cpuUsPerDelivery: delivered ? cpuTotal / delivered : null,
    loadgenCpuPct: elapsedMs > 0 ? ((lg.user + lg.system) / 1000 / elapsedMs) * 100 : null,
    eldP99Ms: eld.eldP99Ms,
    eldMaxMs: eld.eldMaxMs,
    latency: B.lat.map((a, i) => latencySummary(a, B.nLat[i])),
  };
  const all = new Float64Array(delivered);
  let o = 0;
  for (let i = 0; i < B.lat.length; i++) {
    all.set(B.lat[i].subarray(0, B.nLat[i]), o);
    o += B.nLat[i];
  }
  out.latencyAll = latencySummary(all, delivered);
  return out;
}

// ---------------------------------------------------------------- echo

const E = {
  nextId: 1,
  sentAt: null,
  running: false,
  closedLoop: false,
  wStart: Infinity,
  wEnd: Infinity,
  acks: 0,
  acksTotal: 0,
  lat: null,
  nLat: 0,
  dupAcks: 0,
  corrupt: 0,
};

function sendEcho(c) {
  const id = E.nextId++;
  if (id >= E.sentAt.length) {
    E.running = false;
    return;
  }
  E.sentAt[id] = now();
  c.send(
    c.sio
      ? `42${id}["message","${ECHO_DATA}"]`
      : `{"event":"message","id":${id},"data":"${ECHO_DATA}"}`,
  );
  E.owner[id] = c.idx;
}

function onAck(id, data, t) {
  const sent = E.sentAt === null ? 0 : E.sentAt[id];
  if (!(sent > 0)) {
    E.dupAcks++;
    return;
  }
  E.sentAt[id] = -1;
  E.acksTotal++;
  if (data !== ECHO_DATA) E.corrupt++;
  if (E.closedLoop ? t >= E.wStart && t < E.wEnd : sent >= E.wStart) {
    E.acks++;
    if (E.nLat < E.lat.length) E.lat[E.nLat++] = t - sent;
  }
  if (E.closedLoop && E.running) sendEcho(clients[E.owner[id]]);
}

function initEcho(maxMessages) {
  E.sentAt = new Float64Array(maxMessages);
  E.owner = new Int32Array(maxMessages);
  E.lat = new Float64Array(maxMessages);
}

async function closedLoopEcho(ready) {
  initEcho(cfg.maxMessages ?? 4_000_000);
  E.closedLoop = true;
  E.running = true;
  for (const c of ready) sendEcho(c);
  await sleep(cfg.warmupMs ?? 500);
  await Promise.all(servers.map(resetStats));
  const cpu0 = cpuAll();
  const lg0 = process.cpuUsage();
  E.wStart = now();
  await sleep(cfg.durationMs ?? 3000);
  E.wEnd = now();
  const serverCpuUs = cpuUsSince(cpu0)[0];
  const lg = process.cpuUsage(lg0);
  E.running = false;
  const eld = await eldAll();
  const windowMs = E.wEnd - E.wStart;
  return {
    clients: ready.length,
    windowMs,
    acks: E.acks,
    acksPerSec: (E.acks / windowMs) * 1000,
    serverCpuUs,
    cpuUsPerAck: E.acks ? serverCpuUs / E.acks : null,
    loadgenCpuPct: ((lg.user + lg.system) / 1000 / windowMs) * 100,
    eldP99Ms: eld.eldP99Ms,
    eldMaxMs: eld.eldMaxMs,
    latency: latencySummary(E.lat, E.nLat),
    dupAcks: E.dupAcks,
    corrupt: E.corrupt,
  };
}

async function pacedEcho(ready) {
  const rate = cfg.rate ?? 5000;
  const warmupMs = cfg.warmupMs ?? 500;
  const durationMs = cfg.durationMs ?? 3000;
  initEcho(Math.ceil((rate * (warmupMs + durationMs)) / 1000) + 10);
  E.closedLoop = false;
  E.wStart = Infinity; // latencies count for messages sent after the warm-up
  const start = now();
  const total = Math.floor((rate * (warmupMs + durationMs)) / 1000);
  const warmCount = Math.floor((rate * warmupMs) / 1000);
  let sent = 0;
  let cpu0 = null;
  let lg0 = null;
  let sendStart = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000));
      while (sent < due) {
        if (sent === warmCount) {
          // Stats reset is fire-and-forget so the sending schedule is not disturbed.
          for (const srv of servers) resetStats(srv);
          cpu0 = cpuAll();
          lg0 = process.cpuUsage();
          sendStart = now();
          E.wStart = sendStart;
        }
        sendEcho(ready[sent++ % ready.length]);
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendMs = now() - sendStart;
  const measured = sent - warmCount;
  const deadline = now() + 3000;
  while (E.acksTotal < sent && now() < deadline) await sleep(10);
  const serverCpuUs = cpuUsSince(cpu0)[0];
  const lg = process.cpuUsage(lg0);
  const eld = await eldAll();
  return {
    clients: ready.length,
    rate,
    sent: measured,
    acks: E.acks,
    lost: sent - E.acksTotal,
    achievedRate: (measured / sendMs) * 1000,
    serverCpuUs,
    cpuUsPerAck: E.acks ? serverCpuUs / E.acks : null,
    loadgenCpuPct: ((lg.user + lg.system) / 1000 / sendMs) * 100,
    eldP99Ms: eld.eldP99Ms,
    eldMaxMs: eld.eldMaxMs,
    latency: latencySummary(E.lat, E.nLat),
    dupAcks: E.dupAcks,
    corrupt: E.corrupt,
  };
}

// ---------------------------------------------------------------- heartbeat

const H = { counting: false, t0: 0, pings: 0, buckets: null, bucketMs: 100 };

function onPing(t) {
  if (!H.counting) return;
  H.pings++;
  const b = Math.floor((t - H.t0) / H.bucketMs);
  if (b >= 0 && b < H.buckets.length) H.buckets[b]++;
}

async function heartbeat(ready) {
  const interval = cfg.pingIntervalMs ?? 1000;
  const windowMs = cfg.windowMs ?? 5000;
  H.buckets = new Uint32Array(Math.ceil(windowMs / H.bucketMs) + 1);
  await Promise.all(servers.map(resetStats));
  const cpu0 = cpuAll();
  H.t0 = now();
  H.counting = true;
  await sleep(windowMs);
  const elapsed = now() - H.t0;
  const serverCpuUs = cpuUsSince(cpu0)[0];
  H.counting = false;
  const eld = await eldAll();
  const cpuPct = (serverCpuUs / 1000 / elapsed) * 100;
  const intervals = elapsed / interval;
  let peak = 0;
  for (let i = 0; i < H.buckets.length - 1; i++) if (H.buckets[i] > peak) peak = H.buckets[i];
  return {
    clients: ready.length,
    pingIntervalMs: interval,
    windowMs: elapsed,
    serverCpuUs,
    cpuPct,
    cpuPctAtDefault: cpuPct * (interval / (cfg.defaultPingIntervalMs ?? 25000)),
    cpuUsPerPing: H.pings ? serverCpuUs / H.pings : null,
    pings: H.pings,
    pingsPerClientPerInterval: ready.length ? H.pings / ready.length / intervals : 0,
    peakPingsPer100msPct: ready.length ? (peak / ready.length) * 100 : 0,
    eldP99Ms: eld.eldP99Ms,
    eldMaxMs: eld.eldMaxMs,
    online: eld.stats[0]?.online,
  };
}

// ---------------------------------------------------------------- main

async function waitOnline(timeoutMs) {
  const want = servers.map((_, i) => clients.filter((c) => c.grp === i && c.ready).length);
  const deadline = now() + timeoutMs;
  let last = [];
  while (now() < deadline) {
    last = await Promise.all(
      servers.map((s) =>
        getStats(s)
          .then((x) => x.online)
          .catch(() => -1),
      ),
    );
    if (last.every((o, i) => o >= want[i])) return { ok: true, online: last };
    await sleep(50);
  }
  return { ok: false, online: last, want };
}

async function main() {
  const result = { scenario: cfg.scenario, clients: N, servers: servers.length };
  const measureRss = cfg.measureRss !== false;
  if (measureRss) await sleep(cfg.rssSettleBeforeMs ?? 300);
  const rss0 = servers.map((s) => rssKiB(s.pid));
  await Promise.all(servers.map(resetStats));
  const cpu0 = cpuAll();
  const t0 = now();
  const conn = await connectAll(cfg.concurrency ?? 200, cfg.connectTimeoutMs ?? 60000);
  const connectMs = now() - t0;
  const connectCpuUs = cpuUsSince(cpu0).reduce((a, b) => a + b, 0);
  const ready = clients.filter((c) => c.ready);
  const online = await waitOnline(10000);
  if (!online.ok) log(`online never reached: ${JSON.stringify(online)}`);
  const eldConnect = (await eldAll()).eldP99Ms;
  await sleep(cfg.settleMs ?? 1000);
  const rss1 = servers.map((s) => rssKiB(s.pid));
  result.connect = {
    connectMs,
    connectsPerSec: (ready.length / connectMs) * 1000,
    ready: ready.length,
    failed: conn.failed,
    timedOut: conn.timedOut,
    serverCpuUs: connectCpuUs,
    cpuUsPerConnect: ready.length ? connectCpuUs / ready.length : null,
    eldP99Ms: eldConnect,
    rssBeforeKiB: rss0,
    rssAfterKiB: rss1,
    rssPerConnKiB: ready.length
      ? rss1.reduce((a, b) => a + b, 0) / ready.length -
        rss0.reduce((a, b) => a + b, 0) / ready.length
      : null,
    onlineOk: online.ok,
    online: online.online,
  };
  if (conn.failed)
    log(`${conn.failed} of ${N} clients failed to connect (last error: ${S.lastError})`);
  if (!ready.length) throw new Error(`no client connected (last error: ${S.lastError})`);

  switch (cfg.scenario) {
    case 'connect':
      break;
    case 'broadcast':
    case 'cluster':
      result.series = [];
      for (const p of cfg.payloads ?? [64])
        result.series.push(await broadcastSeries(p, ready.length));
      break;
    case 'echo':
      result.echo = await closedLoopEcho(ready);
      break;
    case 'paced':
      result.paced = await pacedEcho(ready);
      break;
    case 'heartbeat':
      result.heartbeat = await heartbeat(ready);
      break;
    default:
      throw new Error(`unknown scenario ${cfg.scenario}`);
  }
  result.frames = { ...S };
  finish(result);
}

main().catch((e) => finish({ error: String(e?.stack || e), frames: S }, 1));
