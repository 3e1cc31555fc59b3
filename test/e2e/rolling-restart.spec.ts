import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHubClient, type WsHubClient } from '../../src/ws-hub/client/index.js';
import { sleep, waitFor } from '../helpers/client.js';
import { ensureLibraryBuilt } from '../helpers/hub-instance.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Issue 20, the proof: three instances on Redis with recovery on, 300 `ws-hub/client` clients
 * in rooms, a publisher at a steady rate; each instance in turn is drained (SIGTERM: 1012 over
 * `drainMs`) and started again on its port while publishing goes on. Every client's frames are
 * recorded: none lost, none twice, in order, and every client back within a stated time. Then
 * the same with SIGKILL instead of the drain, for comparison (figures only). The figures are
 * printed (one line per restart) and quoted in the README's "Deploys and draining".
 */

const fixture = fileURLToPath(new URL('../fixtures/hub-instance.mjs', import.meta.url));
const CLIENTS = 300;
const ROOMS = 10;
const DRAIN_MS = 2000;
/** One broadcast every PUBLISH_EVERY_MS, to the rooms in turn (25 a second, 5 per client). */
const PUBLISH_EVERY_MS = 40;
/**
 * The bound the proof states: a drained client is open again this soon after its 1012. Measured
 * at most 1.7 s on a quiet 2-core machine (random(0, restartDelayMs) plus a handshake and a
 * resume), up to 7.6 s with the machine at a load of 10-12 (the last step sends all 300 clients to
 * one instance: the next URL of every list); the margin is for a machine busy with other work.
 */
const BACK_WITHIN_MS = 8000;

interface Proc {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
  pending: Map<number, (value: unknown) => void>;
  seq: number;
}

/** Spawns the fixture with an IPC channel (publishing, event-loop delay) until READY. */
async function spawnInstance(env: Record<string, string>): Promise<Proc> {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const proc: Proc = {
    child,
    port: 0,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
    pending: new Map(),
    seq: 0,
  };
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.on('message', (m: { seq: number; ret?: unknown }) => {
    proc.pending.get(m.seq)?.(m.ret);
    proc.pending.delete(m.seq);
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        proc.port = Number(m[1]);
        resolve();
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`instance exited (${code}) before READY: ${err}`)),
    );
  });
  return proc;
}

function rpc<T>(proc: Proc, message: Record<string, unknown>): Promise<T> {
  const seq = ++proc.seq;
  return new Promise((resolve) => {
    proc.pending.set(seq, resolve as (value: unknown) => void);
    proc.child.send({ seq, ...message });
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

describe('rolling restart of a 3-instance cluster with recovery on (issue 20)', () => {
  let redis: RedisServer;
  let env: Record<string, string>;
  const ports: number[] = [];
  const instances: Proc[] = [];
  let publisher: Proc;
  const clients: WsHubClient[] = [];
  /** Per client, per room: the `n` of every `tick` received, in order. */
  const received: Map<string, number[]>[] = [];
  /** Per room, how many were published. */
  const published = Array.from({ length: ROOMS }, () => 0);
  let publishing: NodeJS.Timeout | undefined;
  let publishingSince = 0;
  /** Per client: when its connection ended (code), and when it was open again. */
  const downs: { client: number; code: number; at: number; backAt?: number }[] = [];
  const opens: number[] = [];
  /** Clients told, by a reconnect's welcome, that not everything was recovered (this phase). */
  const told = new Set<number>();

  beforeAll(async () => {
    ensureLibraryBuilt();
    redis = await startRedisServer();
    env = {
      REDIS_URL: redis.url,
      RECOVERY: 'on',
      HISTORY_SIZE: '5000',
      SESSION_TTL_MS: '60000',
      HEARTBEAT_MS: '500',
      TIMEOUT_MS: '2000',
      DRAIN_MS: String(DRAIN_MS),
    };
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    instances.push(
      ...(await Promise.all(ports.map((port) => spawnInstance({ ...env, PORT: String(port) })))),
    );
    // A fourth instance, never restarted, with no client: the publisher (one process, so the
    // order of its broadcasts is the order of the streams).
    publisher = await spawnInstance(env);
    const urls = ports.map((port) => `ws://127.0.0.1:${port}/ws`);
    for (let i = 0; i < CLIENTS; i++) {
      // each client starts on instance i % 3 and goes on to the next of its list: forward for
      // half of them, backward for the others, so that a drained instance's clients split
      // between the other two, as behind a load balancer
      const c = createHubClient(
        [0, 1, 2].map((k) => urls[(i + (i % 2 ? 3 - k : k)) % 3]),
        // the token is the fixture's user id: a session resumes for its own user only
        { WebSocket, token: `user-${i}` },
      );
      const rooms = new Map<string, number[]>();
      received.push(rooms);
      c.on('tick', (data: { room: string; n: number }) => rooms.get(data.room)!.push(data.n));
      c.onState((x) => {
        const now = performance.now();
        if (x.state === 'reconnecting' && !downs.some((d) => d.client === i && !d.backAt))
          downs.push({ client: i, code: x.code, at: now });
        if (x.state === 'open') {
          opens.push(now);
          if (x.recovered === false && downs.some((d) => d.client === i)) told.add(i);
          const down = downs.find((d) => d.client === i && d.backAt === undefined);
          if (down) down.backAt = now;
        }
      });
      clients.push(c);
      for (const room of [`r${i % ROOMS}`, `r${(i + 3) % ROOMS}`]) rooms.set(room, []);
    }
    await Promise.all(
      clients.map((c, i) => Promise.all([...received[i].keys()].map((r) => c.join(r)))),
    );
    let k = 0;
    publishingSince = performance.now();
    publishing = setInterval(() => {
      const room = k++ % ROOMS;
      const n = published[room]++;
      publisher.child.send({
        seq: 0,
        op: 'broadcast',
        event: 'tick',
        data: { room: `r${room}`, n },
        rooms: [`r${room}`],
      });
    }, PUBLISH_EVERY_MS);
    await sleep(1000);
  }, 60_000);

  afterAll(async () => {
    clearInterval(publishing);
    for (const c of clients) c.close();
    for (const p of [...instances, publisher]) p?.child.kill('SIGKILL');
    await Promise.all([...instances, publisher].map((p) => p?.exited));
    await redis?.stop();
  });

  /** Restarts every instance in turn with `signal`; the figures of each step. */
  async function roll(signal: 'SIGTERM' | 'SIGKILL') {
    const steps = [];
    for (let i = 0; i < 3; i++) {
      await Promise.all(instances.map((p) => rpc(p, { op: 'loop' }))); // reset the histograms
      const from = downs.length;
      const opensFrom = opens.length;
      const startedAt = performance.now();
      instances[i].child.kill(signal);
      await instances[i].exited;
      const exitMs = performance.now() - startedAt;
      instances[i] = await spawnInstance({ ...env, PORT: String(ports[i]) });
      const restartMs = performance.now() - startedAt;
      const mine = () => downs.slice(from);
      await waitFor(
        () => mine().length > 0 && mine().every((d) => d.backAt !== undefined),
        20_000,
        20,
      );
      await sleep(500);
      const loops = await Promise.all(
        instances.map((p) => rpc<{ p99Ms: number; maxMs: number }>(p, { op: 'loop' })),
      );
      const downsHere = mine();
      const backMs = downsHere.map((d) => d.backAt! - d.at);
      const closeSpread =
        Math.max(...downsHere.map((d) => d.at)) - Math.min(...downsHere.map((d) => d.at));
      const perSecond = new Map<number, number>();
      for (const t of opens.slice(opensFrom)) {
        const bin = Math.floor((t - startedAt) / 1000);
        perSecond.set(bin, (perSecond.get(bin) ?? 0) + 1);
      }
      const step = {
        instance: i,
        clients: downsHere.length,
        codes: [...new Set(downsHere.map((d) => d.code))],
        exitMs: Math.round(exitMs),
        restartMs: Math.round(restartMs),
        closeSpreadMs: Math.round(closeSpread),
        backP50Ms: Math.round(percentile(backMs, 50)),
        backP99Ms: Math.round(percentile(backMs, 99)),
        backMaxMs: Math.round(Math.max(...backMs)),
        peakHandshakesPerS: Math.max(...perSecond.values()),
        loopP99Ms: Math.round(Math.max(...loops.map((l) => l.p99Ms))),
        loopMaxMs: Math.round(Math.max(...loops.map((l) => l.maxMs))),
      };
      process.stdout.write(`rolling restart (${signal}): ${JSON.stringify(step)}\n`);
      steps.push(step);
    }
    return steps;
  }

  /** Every client's frames: lost, duplicated, out of order, once publishing has been seen through. */
  async function check() {
    const last = [...published];
    await waitFor(
      () =>
        received.every((rooms) =>
          [...rooms].every(([room, ns]) => ns.length >= last[Number(room.slice(1))]),
        ),
      20_000,
      50,
    ).catch(() => undefined);
    let lost = 0;
    let lostSilently = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const [i, rooms] of received.entries()) {
      for (const [room, ns] of rooms) {
        const want = last[Number(room.slice(1))];
        const seen = new Set(ns.filter((n) => n < want));
        lost += want - seen.size;
        if (!told.has(i)) lostSilently += want - seen.size;
        duplicated += ns.length - new Set(ns).size;
        for (let j = 1; j < ns.length; j++) if (ns[j] <= ns[j - 1]) outOfOrder++;
      }
    }
    const publishedFor = Math.round((performance.now() - publishingSince) / 1000);
    const notRecovered = told.size;
    told.clear();
    return {
      lost,
      lostSilently,
      notRecovered,
      duplicated,
      outOfOrder,
      published: last.reduce((a, b) => a + b, 0),
      publishedOverS: publishedFor,
    };
  }

  it('drained (SIGTERM, 1012 over drainMs): nothing lost, nothing twice, in order, everyone back within the bound', async () => {
    const steps = await roll('SIGTERM');
    const result = await check();
    process.stdout.write(`rolling restart (SIGTERM): ${JSON.stringify(result)}\n`);
    // (`notRecovered`, resumes that said recovered: false, is a figure: on a machine loaded far
    // beyond its cores a resume's reads can time out, and the client is told)
    expect(result).toMatchObject({ lost: 0, lostSilently: 0, duplicated: 0, outOfOrder: 0 });
    expect(result.published).toBeGreaterThan(200);
    // each drained client goes on to the next instance of its list: 100, 150, then 250 leave
    // (a few more or fewer when an attempt failed on a busy machine and a list moved on)
    expect(steps.reduce((sum, s) => sum + s.clients, 0)).toBeGreaterThanOrEqual(450);
    for (const step of steps) expect(step.clients).toBeGreaterThanOrEqual(90);
    for (const step of steps) {
      expect(step.codes).toEqual([1012]);
      // spread over the drain (40 batches, 50 ms apart), not all at once
      expect(step.closeSpreadMs).toBeGreaterThan(DRAIN_MS * 0.8);
      expect(step.closeSpreadMs).toBeLessThan(DRAIN_MS * 3);
      expect(step.backMaxMs).toBeLessThan(BACK_WITHIN_MS);
    }
    expect(clients.every((c) => c.state === 'open')).toBe(true);
  }, 120_000);

  it('for comparison, SIGKILL (figures; nothing lost without the client being told)', async () => {
    const steps = await roll('SIGKILL');
    const result = await check();
    process.stdout.write(`rolling restart (SIGKILL): ${JSON.stringify(result)}\n`);
    for (const step of steps) expect(step.codes).toEqual([1006]);
    // A resume that cannot recover everything says so (recovered: false): a loss then is told,
    // never silent.
    expect(result).toMatchObject({ lostSilently: 0, duplicated: 0, outOfOrder: 0 });
    expect(clients.every((c) => c.state === 'open')).toBe(true);
  }, 120_000);
});
