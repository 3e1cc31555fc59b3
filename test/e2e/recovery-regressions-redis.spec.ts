import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  HubHealthIndicator,
  type HubDisconnectedEvent,
  type WsHubModuleOptions,
} from '../../src/ws-hub/index.js';
import type { HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import { invariantProblems, Recovering, settle } from '../helpers/recovering-client.js';
import { figure, range, RecoveringHubs } from '../helpers/recovering-hubs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Issue 17 on Redis: each numbered scenario of the issue that involves Redis (or applies to it
 * as well as to one instance), as a regression test of the contract in the recovery design.
 * Instances in this process on private `redis-server`s, raw clients that follow the
 * continuity rule (`test/helpers/recovering-client.ts`). Faults as in
 * `fault-reproduction.md`: `CLIENT KILL TYPE pubsub`, `SHUTDOWN NOSAVE` and a new server on
 * the same port, a failover without the last writes simulated on the stream's keys.
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 2_000 };
/** The lines a Redis outage provokes on purpose (its start and its end). */
const OUTAGE = /^Redis unavailable|^Redis connection to .* restored/;
/**
 * Lines the faults below may provoke in the instances (the subscriber or history lost, a
 * stream continued under a new epoch, clients closed to resume): expected, kept quiet.
 */
const FAULT_LINES = /Redis|subscri|epoch|offset|gap|contiguous|continuity|resum|history|stream/i;

let redis: RedisServer;
let probe: Redis;
const recovering = new RecoveringHubs();
const { client, drop, raws } = recovering;
const plains: TestClient[] = [];
const servers: RedisServer[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  probe = new Redis(redis.url);
}, 60_000);

afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

afterEach(async () => {
  for (const c of plains.splice(0)) c.terminate();
  await recovering.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const prefix = () => `rg-${randomBytes(4).toString('hex')}`;

/** An instance with recovery on Redis (`recovery` false: off); tokens are user ids. */
function hub(
  keyPrefix: string,
  options: WsHubModuleOptions = {},
  url = redis.url,
  commandTimeoutMs = TIMING.commandTimeoutMs,
): Promise<HubApp> {
  return recovering.hub({ ...options, redis: { url, keyPrefix, ...TIMING, commandTimeoutMs } });
}

const health = (app: HubApp) => app.app.get(HubHealthIndicator).isHealthy()['ws-hub'];
/** A stream's keys as the README documents them: `{<prefix>:<stream>}:m` and `:h`. */
const metaKey = (p: string, stream: string) => `{${p}:${stream}}:m`;
const historyKey = (p: string, stream: string) => `{${p}:${stream}}:h`;

/** `SHUTDOWN NOSAVE` on one connection that neither retries nor reconnects. */
async function shutdownNoSave(server: RedisServer): Promise<void> {
  const admin = new Redis(server.url, {
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  });
  admin.on('error', () => undefined);
  await admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the connection just ends
  admin.disconnect();
  await waitFor(() => !server.running, 5_000);
}

async function outputBytes(): Promise<number> {
  const info = await probe.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(info)![1]);
}

/** Defaults of the design's replay budget (`recovery.maxReplayMessages`, `maxReplayBytes`). */
const MAX_REPLAY_MESSAGES = 1_000;
const MAX_REPLAY_BYTES = 1024 * 1024;
/**
 * Bound on what Redis sends for one resume past the replay budget: the budget itself
 * (maxReplayBytes) would be the most a replay reads; this one reads no entry at all, and what
 * remains is the streams' tops, the session and the instances' heartbeats meanwhile. Today's
 * main reads all 6000 entries: about 10 MB.
 */
const REDIS_OUTPUT_BOUND_BYTES = MAX_REPLAY_BYTES + 256 * 1024;

describe('issue 17 on Redis: history lost under a live client', () => {
  it('1. Redis restarted empty after a resume: later messages arrive, or the client is told', async () => {
    captureLogs(OUTAGE, FAULT_LINES);
    const own = await startRedisServer();
    servers.push(own);
    const p = prefix();
    const a = await hub(p, {}, own.url);
    const b = await hub(p, {}, own.url);
    const r = await client(a.url, 'ann', ['quiet']);
    for (const i of range(1, 5)) b.hub.broadcast('q', i, { rooms: 'quiet' });
    await waitFor(() => r.got('q').length === 5);
    await drop(r, a);
    expect((await r.connect(a.url)).data.recovery.recovered).toBe(true); // seam at 5
    r.autoResume(a.url);

    const fault = performance.now(); // the client may be told from here on
    await shutdownNoSave(own);
    await waitFor(() => health(a).status !== 'up' && health(b).status !== 'up', 5_000);
    await own.restart(); // a new, empty server on the same port
    await waitFor(() => health(a).status === 'up' && health(b).status === 'up', 10_000);
    for (const i of range(6, 8)) b.hub.broadcast('q', i, { rooms: 'quiet' });
    const stream = 'room:quiet';
    await settle(() => r.got('q').length >= 8 || r.toldLoss(fault, stream), 2_000);
    expect(invariantProblems(r, { stream, event: 'q', expected: [6, 7, 8], since: fault })).toEqual(
      [],
    );
  });

  it("1. a stream's keys evicted after a resume: later messages arrive, or the client is told", async () => {
    captureLogs(FAULT_LINES);
    const p = prefix();
    const [a, b] = [await hub(p), await hub(p)];
    const r = await client(a.url, 'ann', ['quiet']);
    for (const i of range(1, 5)) b.hub.broadcast('q', i, { rooms: 'quiet' });
    await waitFor(() => r.got('q').length === 5);
    await drop(r, a);
    expect((await r.connect(a.url)).data.recovery.recovered).toBe(true);
    r.autoResume(a.url);

    const fault = performance.now();
    await probe.del(metaKey(p, 'room:quiet'), historyKey(p, 'room:quiet'));
    for (const i of range(6, 8)) b.hub.broadcast('q', i, { rooms: 'quiet' });
    const stream = 'room:quiet';
    await settle(() => r.got('q').length >= 8 || r.toldLoss(fault, stream), 2_000);
    expect(invariantProblems(r, { stream, event: 'q', expected: [6, 7, 8], since: fault })).toEqual(
      [],
    );
  });
});

describe('issue 17 on Redis: faults', () => {
  it('2. subscriber blip: what the instance missed reaches its clients, or they are told, while the connection lives', async () => {
    captureLogs(OUTAGE, FAULT_LINES);
    const p = prefix();
    const [a, b] = [await hub(p), await hub(p)];
    const plan: [string, string[]][] = [
      ['u1', ['r']],
      ['u2', ['r']],
      ['u3', []],
    ];
    const cs: Recovering[] = [];
    for (const [user, rooms] of plan) cs.push((await client(a.url, user, rooms)).autoResume(a.url));
    for (const i of [1, 2]) {
      b.hub.broadcast('b', -i);
      b.hub.broadcast('r', -i, { rooms: 'r' });
    }
    await waitFor(() =>
      cs.every(
        (c, i) => c.got('b').length === 2 && c.got('r').length === (plan[i][1].length ? 2 : 0),
      ),
    );

    const fault = performance.now();
    // Every subscriber connection is killed; the instances reconnect after 50-150 ms.
    await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (const i of range(1, 10)) {
      b.hub.broadcast('b', i);
      b.hub.broadcast('r', i, { rooms: 'r' });
    }
    // Then the streams are quiet: nothing later reveals the gap to the clients.
    const complete = (c: Recovering, i: number) =>
      (c.got('b').length >= 12 || c.toldLoss(fault, 'all')) &&
      (!plan[i][1].length || c.got('r').length >= 12 || c.toldLoss(fault, 'room:r'));
    await settle(() => cs.every(complete), 2_500);
    const missed = cs.map(
      (c) => 10 - c.delivered.filter((d) => d.at >= fault && d.event === 'b').length,
    );
    figure(`[figures] 2. subscriber blip: broadcasts missed per client ${missed}`);
    for (const [i, c] of cs.entries()) {
      const problems = invariantProblems(c, {
        stream: 'all',
        event: 'b',
        expected: range(1, 10),
        since: fault,
      });
      if (plan[i][1].length) {
        problems.push(
          ...invariantProblems(c, {
            stream: 'room:r',
            event: 'r',
            expected: range(1, 10),
            since: fault,
          }),
        );
      }
      expect(problems, `client ${plan[i][0]}`).toEqual([]);
    }
  });

  it('3. failover without the last writes (offset rolled back, epoch kept): reused offsets are never taken for known ones', async () => {
    captureLogs(FAULT_LINES);
    const p = prefix();
    const [a, b] = [await hub(p), await hub(p)];
    const live = (await client(b.url, 'liv', ['f'])).autoResume(b.url);
    const away = await client(a.url, 'off', ['f']);
    for (const i of range(1, 5)) a.hub.broadcast('f', i, { rooms: 'f' });
    await waitFor(() => live.got('f').length === 5 && away.got('f').length === 5);
    await drop(away, a);

    // The promoted replica lacks the last two writes: offset back to 3, entries 4 and 5 gone,
    // the epoch unchanged.
    const meta = metaKey(p, 'room:f');
    expect(await probe.hget(meta, 's')).toBe('5');
    const fault = performance.now();
    await probe.hset(meta, 's', '3');
    await probe.xdel(historyKey(p, 'room:f'), '4-0', '5-0');
    a.hub.broadcast('f', 6, { rooms: 'f' });
    a.hub.broadcast('f', 7, { rooms: 'f' });
    const stream = 'room:f';
    await settle(() => live.got('f').length >= 7 || live.toldLoss(fault, stream), 2_000);
    expect
      .soft(
        invariantProblems(live, { stream, event: 'f', expected: [6, 7], since: fault }),
        'the live client',
      )
      .toEqual([]);

    away.autoResume(a.url);
    await away.connect(a.url);
    await settle(() => away.got('f').length >= 7 || away.toldLoss(fault, stream), 1_000);
    expect(
      invariantProblems(away, { stream, event: 'f', expected: [6, 7], since: fault }),
      'the client that was away',
    ).toEqual([]);
  });

  it('7. takeover across instances: the old connection is closed with 4409, only the new one gets the session’s messages, the session never expires while connected', async () => {
    const sessionTtlMs = 600;
    const recovery = { sessionTtlMs, historyTtlMs: 60_000 };
    const p = prefix();
    const [a, b] = [await hub(p, { recovery }), await hub(p, { recovery })];
    const gone: HubDisconnectedEvent[] = [];
    for (const app of [a, b]) {
      const sub = app.hub.disconnected$.subscribe((e) => gone.push(e));
      onTestFinished(() => sub.unsubscribe());
    }
    const old = await client(a.url, 'ann', ['lobby']);
    const id = old.clientId;
    const neu = old.fork();
    raws.push(neu);
    const welcome = await neu.connect(b.url);
    expect(welcome.data.clientId).toBe(id);
    expect(welcome.data.recovery.recovered).toBe(true);
    expect.soft(await old.c.closed(2_000).catch(() => 'still open')).toBe(4409);
    expect.soft(old.c.closeReason).toBe('session resumed');

    a.hub.send(id, 'dm', 1);
    b.hub.send(id, 'dm', 2);
    await waitFor(() => neu.got('dm').length === 2);
    await sleep(100);
    expect.soft(old.got('dm'), 'the old connection').toEqual([]);
    expect
      .soft(
        gone.filter((e) => e.clientId === id),
        'reported on disconnected$',
      )
      .toEqual([]);

    await sleep(sessionTtlMs + 400);
    expect(a.hub.send(id, 'dm', 3)).toBe(true);
    await waitFor(() => neu.got('dm').length === 3);
    await drop(neu, b);
    expect(a.hub.send(id, 'dm', 4)).toBe(true); // resumable: kept for the next connection
    const next = await neu.connect(a.url);
    expect(next.data.clientId).toBe(id);
    expect(next.data.recovery.recovered).toBe(true);
    await waitFor(() => neu.got('dm').length === 4);
    expect(neu.got('dm')).toEqual([1, 2, 3, 4]);
  });
});

describe('issue 17 on Redis: bounds', () => {
  it('9. streams nobody can resume: their keys expire within historyTtlMs, not a day', async () => {
    const historyTtlMs = 5_000;
    const p = prefix();
    const a = await hub(p, { recovery: { historyTtlMs, sessionTtlMs: 2_000 } });
    a.hub.sendToUser('offline-user', 'dm', 1);
    a.hub.broadcast('n', 1, { rooms: 'empty-room' });
    await sleep(300);
    const keys = ['user:offline-user', 'room:empty-room'].flatMap((s) => [
      metaKey(p, s),
      historyKey(p, s),
    ]);
    const ttls = await Promise.all(keys.map((k) => probe.pttl(k)));
    figure(`[figures] 9. PTTL of unresumable streams' keys (ms): ${ttls}`);
    for (const [i, ttl] of ttls.entries()) {
      // -2: no such key (nothing kept); otherwise at most historyTtlMs
      expect(ttl === -2 || (ttl > 0 && ttl <= historyTtlMs), `${keys[i]}: PTTL ${ttl}`).toBe(true);
    }
  });

  it('10. a resume naming a room its session was never in: a fresh join from the top, never its history', async () => {
    const asked: string[] = [];
    const authorizeJoin = ({ room, userId }: { room: string; userId?: string }) => {
      asked.push(`${userId}:${room}`);
      return true;
    };
    const p = prefix();
    const [a, b] = [await hub(p, { authorizeJoin }), await hub(p, { authorizeJoin })];
    const victim = await client(a.url, 'ann', ['secret']);
    for (const i of [1, 2, 3]) a.hub.broadcast('s', i, { rooms: 'secret' });
    await waitFor(() => victim.got('s').length === 3);
    const m = await client(a.url, 'mallory');
    await drop(m, a);
    m.positions.set('room:secret', { epoch: 'any', offset: 0 });
    const welcome = await m.connect(b.url);
    b.hub.broadcast('end', 1);
    await waitFor(() => m.got('end').length === 1);
    expect.soft(m.got('s')).toEqual([]);
    expect.soft(welcome.data.recovery.recovered).toBe(false);
    const st = welcome.data.recovery.streams['room:secret'];
    if (st) {
      expect(st).toMatchObject({ offset: 3, recovered: false });
      expect(asked).toContain('mallory:secret');
    }
  });

  it('11. a resume in 20 rooms × 300 stored messages of 1.5 KB: bounded Redis output, told', async () => {
    const p = prefix();
    // Generous command timeout: 6000 publishes in one burst must not count as lost.
    const a = await hub(p, { recovery: { historySize: 300 } }, redis.url, 10_000);
    const rooms = range(0, 19).map((i) => `room-${i}`);
    const r = await client(a.url, 'ann', rooms);
    await drop(r, a);
    const pad = 'x'.repeat(1_500);
    for (const room of rooms) {
      for (let i = 0; i < 300; i++) a.hub.broadcast('m', { i, pad }, { rooms: room });
    }
    await waitFor(
      async () =>
        (await Promise.all(rooms.map((room) => probe.xlen(historyKey(p, 'room:' + room))))).every(
          (n) => n === 300,
        ),
      15_000,
      50,
    );
    await sleep(300); // the publishes' pub/sub traffic is over
    const before = await outputBytes();
    const since = performance.now();
    await r.connect(a.url);
    let last = -1;
    await settle(() => {
      const quiet = r.bytes[r.conn] === last;
      last = r.bytes[r.conn];
      return quiet;
    }, 5_000);
    await sleep(100);
    const redisBytes = (await outputBytes()) - before;
    const replayed = r.delivered.filter((d) => d.at >= since && d.event === 'm').length;
    figure(
      `[figures] 11. Redis resume in 20 rooms x 300 x 1.5 KB: Redis output ${redisBytes} B, ` +
        `${replayed} replayed, ${r.bytes[r.conn]} B to the client`,
    );
    expect(redisBytes).toBeLessThan(REDIS_OUTPUT_BOUND_BYTES);
    expect(replayed).toBeLessThanOrEqual(MAX_REPLAY_MESSAGES);
    if (replayed < rooms.length * 300) expect(r.toldLoss(since)).toBe(true);
  }, 40_000);

  it('12. a multi-room broadcast shows a member only its own rooms, live and replayed', async () => {
    const p = prefix();
    const [a, b] = [await hub(p), await hub(p)];
    const r = await client(a.url, 'bob', ['public']);
    b.hub.broadcast('x', 1, { rooms: ['public', 'dm:alice:carol'] });
    await waitFor(() => r.got('x').length === 1);
    await drop(r, a);
    b.hub.broadcast('x', 2, { rooms: ['dm:alice:carol', 'public'] });
    await sleep(100);
    const welcome = await r.connect(b.url);
    expect(welcome.data.recovery.recovered).toBe(true);
    await waitFor(() => r.got('x').length === 2);
    expect(r.foreign).toEqual([]);
    expect(r.pushes.map((f) => Object.keys((f as { pos?: object }).pos ?? {}))).toEqual([
      ['room:public'],
      ['room:public'],
    ]);
  });
});

describe('issue 17 on Redis: except', () => {
  it('a broadcast from another instance that excludes a recovering client: a skip frame, offsets contiguous, no resume, live and replayed', async () => {
    const p = prefix();
    const [a, b] = [await hub(p), await hub(p)];
    const r = await client(a.url, 'bob', ['chat']);
    const other = await client(b.url, 'ann', ['chat']);
    for (let i = 1; i <= 3; i++) {
      b.hub.broadcast('m', i, { rooms: 'chat', except: i === 2 ? [r.clientId] : [] });
    }
    await waitFor(() => r.got('m').length === 2 && other.got('m').length === 3);
    expect(r.got('m')).toEqual([1, 3]);
    expect(r.outcomes('skipped')).toHaveLength(1);
    await drop(r, a);
    b.hub.broadcast('m', 4, { rooms: 'chat', except: [r.clientId] });
    b.hub.broadcast('m', 5, { rooms: 'chat' });
    await sleep(100);
    const welcome = await r.connect(b.url);
    expect(welcome.data.recovery.recovered).toBe(true);
    await waitFor(() => r.got('m').length === 3);
    expect(r.got('m')).toEqual([1, 3, 5]);
    expect(r.losses()).toEqual([]);
    expect(r.welcomes()).toHaveLength(2);
  });
});

describe('issue 17 on Redis: configuration and counts', () => {
  it('13. instances that disagree on recovery: an error naming the difference and the instances, health degraded (or one refuses to start)', async () => {
    const logs = captureLogs(/recovery/i);
    const p = prefix();
    const a = await hub(p, { recovery: true });
    let refused: unknown;
    const b = await hub(p, { recovery: false }).catch((err: unknown) => {
      refused = err;
      return undefined;
    });
    if (refused !== undefined) {
      expect(String(refused)).toMatch(/recovery/i);
      return;
    }
    const named = () =>
      logs
        .errors()
        .filter(
          (m) =>
            /recovery/i.test(m) && (m.includes(a.hub.instanceId) || m.includes(b!.hub.instanceId)),
        );
    await settle(
      () =>
        named().length > 0 && health(a).status === 'degraded' && health(b!).status === 'degraded',
      3_000,
    );
    expect.soft(named(), `errors: ${JSON.stringify(logs.errors())}`).not.toEqual([]);
    expect.soft(health(a).status).toBe('degraded');
    expect.soft(health(b!).status).toBe('degraded');
  });

  it('14. broadcast and sendToUser count the local recovering clients', async () => {
    const p = prefix();
    const [a, b] = [await hub(p), await hub(p)];
    const r1 = await client(a.url, 'u1', ['lobby']);
    const r2 = await client(a.url, 'u2', ['lobby']);
    const plain = await TestClient.welcomed(a.url + '?token=u1');
    plains.push(plain);
    await plain.request({ event: 'join', id: 'j', data: { room: 'lobby' } });
    const counts = {
      all: a.hub.broadcast('n', 1),
      room: a.hub.broadcast('n', 2, { rooms: 'lobby' }),
      user: a.hub.sendToUser('u1', 'dm', 1),
      elsewhere: b.hub.broadcast('n', 3),
    };
    await waitFor(() => r1.got('n').length === 3 && r2.got('n').length === 3);
    await waitFor(() => r1.got('dm').length === 1);
    expect(counts).toEqual({ all: 3, room: 3, user: 2, elsewhere: 0 });
  });
});
