// Shared plumbing for the reference targets (raw ws, framed ws, Socket.IO).
//
// Implements the /stats contract documented in bench/README.md:
//   GET  /stats        -> { online, pid, rssBytes, heapUsedBytes,
//                           eventLoopDelayP50Ms, eventLoopDelayP99Ms,
//                           eventLoopDelayMaxMs, eventLoopDelaySamples,
//                           eventLoopDelayResolutionMs, cpu: { userUs, systemUs },
//                           windowMs }
//   POST /stats/reset  -> { ok: true }  (resets the event-loop delay histogram)
//   POST /broadcast    -> { delivered }  body { event?: string, data: any }
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const ELD_RESOLUTION_MS = 10;
export const DEFAULT_EVENT = 'broadcast';
const MAX_BODY = 1 << 20;

export function envInt(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

// Raw histogram values in ms, as monitorEventLoopDelay records them: the time
// between two timer ticks, so an idle loop reads ~ELD_RESOLUTION_MS. The
// runner subtracts eventLoopDelayResolutionMs to show the actual delay.
function ms(ns) {
  return Math.round(ns / 1e4) / 100;
}

export function createStats(getOnline) {
  const h = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  h.enable();
  let since = Date.now();
  return {
    snapshot() {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const n = h.count;
      return {
        online: getOnline(),
        pid: process.pid,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        eventLoopDelayP50Ms: n ? ms(h.percentile(50)) : 0,
        eventLoopDelayP99Ms: n ? ms(h.percentile(99)) : 0,
        eventLoopDelayMaxMs: n ? ms(h.max) : 0,
        eventLoopDelaySamples: n,
        eventLoopDelayResolutionMs: ELD_RESOLUTION_MS,
        cpu: { userUs: cpu.user, systemUs: cpu.system },
        windowMs: Date.now() - since,
      };
    },
    reset() {
      h.reset();
      since = Date.now();
    },
  };
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(size ? JSON.parse(Buffer.concat(chunks).toString()) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

function reply(res, status, body) {
  const s = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(s),
  });
  res.end(s);
}

// HTTP request handler shared by all reference targets.
// broadcast(event, data) must return the number of clients written to.
export function httpHandler(stats, broadcast) {
  return (req, res) => {
    const path = req.url.split('?', 1)[0];
    if (req.method === 'GET' && path === '/stats') {
      reply(res, 200, stats.snapshot());
    } else if (req.method === 'POST' && path === '/stats/reset') {
      stats.reset();
      reply(res, 200, { ok: true });
    } else if (req.method === 'POST' && path === '/broadcast') {
      readJson(req).then(
        (body) => {
          if (!body || typeof body !== 'object' || !('data' in body)) {
            reply(res, 400, { error: 'body must be {event?, data}' });
            return;
          }
          const event = typeof body.event === 'string' ? body.event : DEFAULT_EVENT;
          reply(res, 200, { delivered: broadcast(event, body.data) });
        },
        (err) => reply(res, 400, { error: String(err.message || err) }),
      );
    } else {
      reply(res, 404, { error: 'not found' });
    }
  };
}

export function listen(server, name) {
  const port = envInt('PORT', 0);
  const host = process.env.HOST || '127.0.0.1';
  server.listen({ port, host, backlog: 4096 }, () => {
    const real = server.address().port;
    console.log(`LISTENING ${real}`);
    console.error(`${name} listening on http://${host}:${real} (pid ${process.pid})`);
  });
}

// Exit if the parent (the bench runner) disappears, so a SIGKILLed runner
// leaves no orphaned target behind.
export function parentWatchdog() {
  const parent = process.ppid;
  const t = setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000);
  t.unref();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
}
