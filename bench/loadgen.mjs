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
//   localAddresses  source addresses (127.0.0.x) the clients are spread over,
//                round-robin (default: the kernel's choice, 127.0.0.1)
//   recovery     true: clients offer `ws-hub.recovery` and send `recover` first;
//                a client is ready when its welcome arrives
//   scale:     steps [N...], broadcasts, heartbeat window (default interval)
//   storm:     clients of `ws-hub/client` (clientModule) on servers[0], which is
//              killed with SIGKILL; they come back on servers[1]
//   history:   messages, rooms, payloads; servers[].inspectPort (full GC
//              through the inspector before each memory reading)
//
// Protocols: "ws" = JSON text frames {"event","id","data"} (ws-hub, raw ws);
// "sio" = Socket.IO v5 / Engine.IO v4 spoken directly over `ws` (open "0",
// CONNECT "40", EVENT "42", ACK "43<id>", ping "2" answered by "3"), so the
// generator costs the same per frame whatever the target.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
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

/** Kernel memory in TCP buffers, machine-wide (/proc/net/sockstat `TCP: ... mem <pages>`). */
function tcpMemKiB() {
  const m = /^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return m ? Number(m[1]) * 4 : NaN;
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
// interval where the target reports raw readings (eventLoopDelayResolutionMs: the
// raw histogram records the time between timer ticks, so an idle loop reads ~10 ms).
// The ws-hub demo reports the delay itself (interval already subtracted): no field.
async function eldAll() {
  const st = await Promise.all(servers.map((s) => getStats(s).catch(() => ({}))));
  const pick = (field) =>
    Math.max(
      ...st.map((x) => {
        const v = x[field];
        if (typeof v !== 'number') return NaN;
        const res =
          typeof x.eventLoopDelayResolutionMs === 'number' ? x.eventLoopDelayResolutionMs : 0;
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

// Several loopback source addresses (127.0.0.x), round-robin: each has its own ephemeral port
// range (32768-60999 here, about 28000 connections to one server port per address).
const LOCAL_ADDRESSES = Array.isArray(cfg.localAddresses) ? cfg.localAddresses : [];
function localAddressOf(c) {
  return LOCAL_ADDRESSES.length ? LOCAL_ADDRESSES[c.idx % LOCAL_ADDRESSES.length] : undefined;
}

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

// Subprotocols of a client that asks for message recovery (README "Wire protocol extension").
const RECOVERY_PROTOCOLS = 'ws-hub.v1, ws-hub.recovery';
const RECOVER_FRAME = '{"event":"recover","id":1,"data":{}}';

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
      localAddress: localAddressOf(c),
      onread: { buffer: READ_BUF, callback: (n, buf) => this.onRead(buf, n) },
    });
    this.sock = sock;
    sock.setNoDelay(true);
    this.timer = setTimeout(() => this.fail(new Error('handshake timeout')), 20000);
    sock.on('connect', () => {
      sock.write(
        `GET ${wsPath(srv)} HTTP/1.1\r\nHost: ${HOST}:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n` +
          (cfg.recovery ? `Sec-WebSocket-Protocol: ${RECOVERY_PROTOCOLS}\r\n` : '') +
          '\r\n',
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
      data = data.subarray(end + 4);
      if (cfg.recovery) {
        // The server must pick the recovery subprotocol; the client is ready at its welcome.
        if (!/\r\nsec-websocket-protocol: *ws-hub\.recovery\r?$/im.test(head)) {
          this.fail(new Error('server did not select ws-hub.recovery (recovery off?)'));
          return;
        }
        this.c.awaitWelcome = true;
        this.send(RECOVER_FRAME);
      } else if (!this.c.sio) {
        this.c.ready = true;
        this.c.onReady(null);
      }
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
  const ws = new WebSocket(
    `ws://${HOST}:${srv.port}${wsPath(srv)}`,
    cfg.recovery ? RECOVERY_PROTOCOLS.split(', ') : undefined,
    {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: 20000,
      maxPayload: 64 * 1024 * 1024,
      localAddress: localAddressOf(c),
    },
  );
  c.conn = ws;
  ws.on('open', () => {
    if (cfg.recovery) {
      if (ws.protocol !== 'ws-hub.recovery') {
        c.onReady(new Error('server did not select ws-hub.recovery (recovery off?)'));
        ws.terminate();
        return;
      }
      c.awaitWelcome = true;
      ws.send(RECOVER_FRAME);
    } else if (!c.sio) {
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
  return connectRange(0, N, concurrency, timeoutMs);
}

/** Opens clients[from..to) with at most `concurrency` handshakes in flight. */
function connectRange(from, to, concurrency, timeoutMs) {
  return new Promise((resolve) => {
    const total = to - from;
    let next = from;
    let done = 0;
    let failed = 0;
    if (total <= 0) return resolve({ failed: 0, timedOut: false });
    const timer = setTimeout(
      () => resolve({ failed: failed + (total - done), timedOut: true }),
      timeoutMs,
    );
    const startOne = () => {
      if (next >= to) return;
      openClient(clients[next++], (err) => {
        if (err) failed++;
        if (++done === total) {
          clearTimeout(timer);
          resolve({ failed, timedOut: false });
        } else startOne();
      });
    };
    for (let k = 0; k < Math.min(concurrency, total); k++) startOne();
  });
}

/**
 * Waits (bounded) until every ready client of a `ws` target has its welcome frame, so that
 * the server's work after the upgrade (registration, welcome) falls inside the connect window.
 */
async function waitWelcomes(readyCount, timeoutMs = 3000) {
  if (!servers.every((s) => s.proto === 'ws')) return true;
  const deadline = now() + timeoutMs;
  while (S.welcomes < readyCount) {
    if (now() > deadline) return false;
    await sleep(5);
  }
  return true;
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
  else if (ev === 'welcome') {
    S.welcomes++;
    if (c.awaitWelcome) {
      c.awaitWelcome = false;
      if (!(m.data?.recovery ?? m.recovery)) {
        c.onReady(new Error('welcome without a recovery block'));
        return;
      }
      c.ready = true;
      c.onReady(null);
    }
  } else S.otherFrames++;
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

// ---------------------------------------------------------------- scale

// One process, clients added in steps (1000, 5000, ... N): at each step the connect cost of
// the new clients, the server's RSS, and a broadcast series (64 B) to everyone connected; at
// the top, the heartbeat at the default interval over a window longer than one interval.
async function scale() {
  const srv = servers[0];
  const steps = (cfg.steps ?? [N]).filter((n) => n <= N);
  if (steps.at(-1) !== N) steps.push(N);
  await sleep(cfg.rssSettleBeforeMs ?? 300);
  const rss0 = rssKiB(srv.pid);
  const tcp0 = tcpMemKiB();
  const out = { scenario: 'scale', clients: N, rss0KiB: rss0, tcpMem0KiB: tcp0, steps: [] };
  let from = 0;
  let prevRss = rss0;
  for (const n of steps) {
    await resetStats(srv);
    const cpu0 = cpuAll();
    const t0 = now();
    const conn = await connectRange(
      from,
      n,
      cfg.concurrency ?? 200,
      cfg.connectTimeoutMs ?? 120000,
    );
    const connectMs = now() - t0;
    const readyCount = clients.filter((c) => c.ready).length;
    const welcomed = await waitWelcomes(readyCount);
    const connectCpuUs = cpuUsSince(cpu0)[0];
    const eldConnect = await eldAll();
    const online = await waitOnline(15000);
    await sleep(cfg.settleMs ?? 1000);
    const rss = rssKiB(srv.pid);
    const tcp = tcpMemKiB();
    const added = readyCount - (out.steps.at(-1)?.ready ?? 0);
    const step = {
      clients: n,
      ready: readyCount,
      failed: conn.failed,
      timedOut: conn.timedOut,
      welcomed,
      onlineOk: online.ok,
      online: online.online,
      connectMs,
      connectCpuUs,
      cpuUsPerConnect: added > 0 ? connectCpuUs / added : null,
      connectEldP99Ms: eldConnect.eldP99Ms,
      rssKiB: rss,
      rssPerConnKiB: readyCount ? (rss - rss0) / readyCount : null,
      marginalRssPerConnKiB: added > 0 ? (rss - prevRss) / added : null,
      // kernel TCP buffer memory of the whole machine (both ends are here): per connection
      tcpMemKiB: tcp,
      tcpMemPerConnKiB: readyCount ? (tcp - tcp0) / readyCount : null,
    };
    log(
      `step ${n}: ${readyCount} ready, ${conn.failed} failed, ${connectMs.toFixed(0)} ms, ` +
        `${step.cpuUsPerConnect?.toFixed(0)} µs/connect, RSS ${(rss / 1024).toFixed(0)} MiB`,
    );
    if (!readyCount) throw new Error(`no client connected (last error: ${S.lastError})`);
    step.series = await broadcastSeries(cfg.payloadBytes ?? 64, readyCount);
    prevRss = rssKiB(srv.pid);
    step.rssAfterBroadcastsKiB = prevRss;
    out.steps.push(step);
    from = n;
  }
  const ready = clients.filter((c) => c.ready);
  out.heartbeat = await heartbeat(ready);
  out.frames = { ...S };
  return out;
}

// ---------------------------------------------------------------- reconnect storm

// `clients` instances of ws-hub/client (the built one, cfg.clientModule) on `ws`, all connected
// to servers[0]; servers[0] is killed with SIGKILL and the clients' own jittered backoff brings
// them back, on servers[1] (the url function stands for a load balancer that took the dead
// instance out). Measured per client from the kill to its next welcome.
async function storm() {
  const [A, Bsrv] = servers;
  const { createHubClient } = await import(pathToFileURL(cfg.clientModule).href);
  const urlA = `ws://${HOST}:${A.port}${A.path}`;
  const urlB = `ws://${HOST}:${Bsrv.port}${Bsrv.path}`;
  let killed = false;
  let tKill = 0;
  let made = 0;
  class Socket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, {
        perMessageDeflate: false,
        localAddress: LOCAL_ADDRESSES.length
          ? LOCAL_ADDRESSES[made++ % LOCAL_ADDRESSES.length]
          : undefined,
      });
    }
  }
  const recs = [];
  const causes = {};
  let opened = 0;
  let back = 0;
  let wakeOpen = null;
  let wakeBack = null;
  const concurrency = cfg.concurrency ?? 200;
  const start = (i) => {
    const rec = { backMs: -1, downMs: -1, downs: 0, slotFreed: false };
    recs.push(rec);
    const free = () => {
      if (rec.slotFreed) return;
      rec.slotFreed = true;
      if (recs.length < N) start(recs.length);
    };
    rec.hub = createHubClient(() => (killed ? urlB : urlA), {
      WebSocket: Socket,
      reconnect: cfg.reconnect,
    });
    rec.hub.onState((st) => {
      if (st.state === 'open') {
        free();
        if (!killed) {
          if (++opened === N && wakeOpen) wakeOpen();
        } else if (rec.backMs < 0) {
          rec.backMs = now() - tKill;
          if (++back === N && wakeBack) wakeBack();
        }
      } else if (st.state === 'reconnecting') {
        free();
        if (killed) {
          if (rec.downs === 0) rec.downMs = now() - tKill;
          rec.downs++;
          causes[st.cause] = (causes[st.cause] ?? 0) + 1;
        }
      }
    });
    return i;
  };
  const t0 = now();
  for (let i = 0; i < Math.min(concurrency, N); i++) start(i);
  await Promise.race([new Promise((r) => (wakeOpen = r)), sleep(cfg.connectTimeoutMs ?? 120000)]);
  const connectMs = now() - t0;
  if (opened < N) throw new Error(`only ${opened} of ${N} clients opened on the first instance`);
  const waitA = await waitOnlineOf(A, N, 15000);
  if (!waitA) throw new Error(`first instance /stats never reported ${N} online`);
  await sleep(cfg.settleMs ?? 1000);
  const before = await getStats(Bsrv);
  await resetStats(Bsrv);
  const cpuB0 = cpuTicks(Bsrv.pid);
  const lg0 = process.cpuUsage();
  // The generator's own event-loop delay: when it is large, the times below are the generator's.
  const genEld = monitorEventLoopDelay({ resolution: 10 });
  genEld.enable();
  tKill = now();
  killed = true;
  // SIGTERM: the hub drains (1012 in batches over its drainMs), the others stop.
  process.kill(A.pid, cfg.stormSignal ?? 'SIGKILL');
  const timeoutMs = cfg.stormTimeoutMs ?? 60000;
  await Promise.race([new Promise((r) => (wakeBack = r)), sleep(timeoutMs)]);
  const allBackMs = back === N ? Math.max(...recs.map((r) => r.backMs)) : null;
  const cpuBUs = ((cpuTicks(Bsrv.pid) - cpuB0) * 1e6) / clkTck;
  const windowMs = now() - tKill;
  const lg = process.cpuUsage(lg0);
  genEld.disable();
  const after = await getStats(Bsrv);
  const onlineB = await waitOnlineOf(Bsrv, back, 5000);
  const sum = (o) =>
    o && typeof o === 'object' ? Object.values(o).reduce((a, b) => a + (Number(b) || 0), 0) : 0;
  const backs = Float64Array.from(recs.filter((r) => r.backMs >= 0).map((r) => r.backMs)).sort();
  // clients back per 500 ms after the kill (the shape of the storm)
  const backHistogram = [];
  for (const ms of backs)
    backHistogram[Math.floor(ms / 500)] = (backHistogram[Math.floor(ms / 500)] ?? 0) + 1;
  for (let i = 0; i < backHistogram.length; i++) backHistogram[i] ??= 0;
  const downAt = Float64Array.from(recs.filter((r) => r.downMs >= 0).map((r) => r.downMs)).sort();
  const res = Number(after.eventLoopDelayResolutionMs ?? 0); // see eldAll()
  const downs = recs.reduce((a, r) => a + r.downs, 0);
  return {
    scenario: 'storm',
    clients: N,
    connect: { connectMs, opened },
    back,
    notBack: N - back,
    allBackMs,
    backP50Ms: pct(backs, 50),
    backP99Ms: pct(backs, 99),
    backMaxMs: backs.length ? backs[backs.length - 1] : null,
    // the first `reconnecting` of each client is the loss of its connection; more are failed attempts
    failedAttempts: downs - recs.filter((r) => r.downs > 0).length,
    backHistogram,
    // when the clients saw their connection drop (ms after the kill)
    lostP50Ms: pct(downAt, 50),
    lostMaxMs: downAt.length ? downAt[downAt.length - 1] : null,
    causes,
    refusedHandshakes: sum(after.rejectedHandshakes) - sum(before.rejectedHandshakes),
    rejectedHandshakes: after.rejectedHandshakes,
    survivorOnline: after.online,
    survivorOnlineOk: onlineB,
    survivorEldP99Ms: Math.max(0, (after.eventLoopDelayP99Ms ?? NaN) - res),
    survivorEldMaxMs: Math.max(0, (after.eventLoopDelayMaxMs ?? NaN) - res),
    survivorCpuUs: cpuBUs,
    survivorCpuUsPerHandshake: back ? cpuBUs / back : null,
    survivorCpuPct: (cpuBUs / 1000 / windowMs) * 100,
    windowMs,
    loadgenCpuPct: ((lg.user + lg.system) / 1000 / windowMs) * 100,
    loadgenEldP99Ms: Math.max(0, genEld.percentile(99) / 1e6 - 10),
    loadgenEldMaxMs: Math.max(0, genEld.max / 1e6 - 10),
  };
}

async function waitOnlineOf(srv, want, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const st = await getStats(srv).catch(() => null);
    if (st && st.online >= want) return true;
    await sleep(50);
  }
  return false;
}

// ---------------------------------------------------------------- publish cost

// What one broadcast costs apart from the fan-out: `messages` POST /broadcast to servers[0],
// one at a time, with one client per instance; CPU of every instance and of redis-server
// (cfg.redisPid) per publish.
async function publishCost(ready) {
  const K = cfg.messages ?? 3000;
  const post = (i) =>
    request(
      servers[0],
      'POST',
      '/broadcast',
      `{"event":"${BENCH_EVENT}","data":{"s":${i},"p":"${'x'.repeat(Math.max(0, (cfg.payloadBytes ?? 64) - 20))}"}}`,
    );
  for (let i = 0; i < 200; i++) await post(i); // warm-up
  await sleep(200);
  const redisTicks = () => (cfg.redisPid ? cpuTicks(cfg.redisPid) : 0);
  // What the processes burn idle (timers, presence, the event-loop sampler), subtracted below.
  const idleMs = cfg.idleMs ?? 2000;
  const idle0 = cpuAll();
  const idleR0 = redisTicks();
  const ti = now();
  await sleep(idleMs);
  const idleSpan = now() - ti;
  const idleRate = cpuUsSince(idle0).map((us) => us / idleSpan);
  const idleRedisRate = ((redisTicks() - idleR0) * 1e6) / clkTck / idleSpan;
  const cpu0 = cpuAll();
  const r0 = redisTicks();
  const t0 = now();
  for (let i = 0; i < K; i++) await post(i);
  await sleep(200); // the other instance's tail
  const ms = now() - t0;
  const perServer = cpuUsSince(cpu0).map((us, i) => Math.max(0, us - idleRate[i] * ms) / K);
  return {
    clients: ready.length,
    messages: K,
    publishesPerSec: (K / ms) * 1000,
    cpuUsPerPublishA: perServer[0],
    cpuUsPerPublishB: perServer[1] ?? null,
    cpuUsPerPublishAll: perServer.reduce((a, b) => a + b, 0),
    redisCpuUsPerPublish: cfg.redisPid
      ? Math.max(0, ((redisTicks() - r0) * 1e6) / clkTck - idleRedisRate * ms) / K
      : null,
    idleCpuPctPerServer: idleRate.map((r) => r / 10),
  };
}

// ---------------------------------------------------------------- history memory

// A client of the target's inspector (started with --inspect=127.0.0.1:<port>): full GC, then
// process.memoryUsage(), so heap deltas are live objects, not garbage.
async function inspector(port) {
  const list = await new Promise((resolve, reject) => {
    http
      .get({ host: HOST, port, path: '/json/list', agent: false }, (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
      })
      .on('error', reject);
  });
  const ws = new WebSocket(list[0].webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let id = 0;
  const pending = new Map();
  ws.on('message', (buf) => {
    const m = JSON.parse(buf.toString());
    const p = pending.get(m.id);
    if (p) {
      pending.delete(m.id);
      if (m.error) p.reject(new Error(JSON.stringify(m.error)));
      else p.resolve(m.result);
    }
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      pending.set(++id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async memory() {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      const r = await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      return JSON.parse(r.result.value);
    },
    close: () => ws.close(),
  };
}

// `messages` room broadcasts (no client connected) per payload size, spread over rooms so that
// no stream holds more than `perRoom` (below the default historySize of 300): what the history
// keeps per message is the heap delta after a full GC, compared with the same run with recovery
// off (the runner divides).
async function historyMemory() {
  const srv = servers[0];
  const insp = await inspector(srv.inspectPort);
  const K = cfg.messages ?? 10000;
  const perRoom = cfg.perRoom ?? 250;
  const post = async (prefix, count, bytes) => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const head = `{"s":${i},"p":"`;
        const pad = 'x'.repeat(Math.max(0, bytes - head.length - 2));
        await request(
          srv,
          'POST',
          '/broadcast',
          `{"event":"${BENCH_EVENT}","data":${head}${pad}"},"rooms":["${prefix}${Math.floor(i / perRoom)}"]}`,
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  };
  await post('warm-', 500, 64); // JIT, lazily created structures
  const passes = [];
  for (const bytes of cfg.payloads ?? [64, 1024]) {
    const m0 = await insp.memory();
    const rss0 = rssKiB(srv.pid);
    const t0 = now();
    await post(`h${bytes}-`, K, bytes);
    const ms = now() - t0;
    const m1 = await insp.memory();
    const rss1 = rssKiB(srv.pid);
    passes.push({
      payloadBytes: bytes,
      messages: K,
      postMs: ms,
      heapBytesPerMsg: (m1.heapUsed - m0.heapUsed) / K,
      externalBytesPerMsg: (m1.external - m0.external) / K,
      rssBytesPerMsg: ((rss1 - rss0) * 1024) / K,
    });
    log(`history ${bytes} B: ${passes.at(-1).heapBytesPerMsg.toFixed(0)} B heap/msg`);
  }
  insp.close();
  return { scenario: 'history', clients: 0, passes };
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
  if (cfg.scenario === 'scale') return finish(await scale());
  if (cfg.scenario === 'storm') return finish(await storm());
  if (cfg.scenario === 'history') return finish(await historyMemory());
  const result = { scenario: cfg.scenario, clients: N, servers: servers.length };
  const measureRss = cfg.measureRss !== false;
  if (measureRss) await sleep(cfg.rssSettleBeforeMs ?? 300);
  const rss0 = servers.map((s) => rssKiB(s.pid));
  await Promise.all(servers.map(resetStats));
  const cpu0 = cpuAll();
  const t0 = now();
  const conn = await connectAll(cfg.concurrency ?? 200, cfg.connectTimeoutMs ?? 60000);
  const connectMs = now() - t0;
  const welcomed = await waitWelcomes(clients.filter((c) => c.ready).length);
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
    welcomed,
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
    case 'publish':
      result.publish = await publishCost(ready);
      break;
    default:
      throw new Error(`unknown scenario ${cfg.scenario}`);
  }
  result.frames = { ...S };
  finish(result);
}

main().catch((e) => finish({ error: String(e?.stack || e), frames: S }, 1));
