import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WS_HUB_ADAPTER, type WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { RedisHubAdapter } from '../../src/ws-hub/redis/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { ensureLibraryBuilt, spawnHubInstance, type HubInstance } from '../helpers/hub-instance.js';
import { captureLogs } from '../helpers/logs.js';
import { Recovering } from '../helpers/recovering-client.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

/**
 * The Redis adapter in cluster mode (sharded pub/sub) on a private 3-master, 1-replica-each
 * Redis Cluster: a master killed with SIGKILL (its replica is promoted after about
 * cluster-node-timeout) and delivery between instances resumes; recovery on the cluster.
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 500 };
/** The lines a shard's failover provokes (one outage, then its end). */
const OUTAGE = /^Redis unavailable|^Redis connection to .* restored/;
/** Bound on failover → cross-instance delivery on the lost shard again. */
const RESUME_BOUND_MS = 10_000;

let cluster: RedisCluster;
const apps: HubApp[] = [];
const clients: TestClient[] = [];
const raws: Recovering[] = [];
const children: HubInstance[] = [];
/** Measured figures (SHOW_FIGURES=1 prints them). */
const figures: string[] = [];

beforeAll(async () => {
  ensureLibraryBuilt();
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (figures.length && process.env.SHOW_FIGURES) console.log(figures.join('\n'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const r of raws.splice(0)) r.c?.terminate();
  for (const c of children.splice(0)) c.kill();
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const prefix = () => `cl-${randomBytes(4).toString('hex')}`;
const adapterOf = (app: HubApp) => app.app.get(WS_HUB_ADAPTER) as RedisHubAdapter;

async function hub(keyPrefix: string, recovery?: WsHubModuleOptions['recovery']): Promise<HubApp> {
  const app = await startHub({
    rateLimit: false,
    recovery,
    authenticate: (_r, { token }) => (token ? { userId: token } : null),
    redis: { cluster: { nodes: cluster.startupNodes }, keyPrefix, ...TIMING },
  });
  apps.push(app);
  return app;
}

/** The port of the master serving `key`'s slot now. */
async function ownerOf(key: string): Promise<number> {
  const node = cluster.nodes.find((n) => n.running)!;
  const probe = new Redis(node.port, '127.0.0.1');
  try {
    const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    return Number(range[2][1]);
  } finally {
    probe.disconnect();
  }
}

// Before the failover below: a settled topology (while ioredis retries commands redirected by
// MOVED, an instance's messages on one stream may be reordered; see the README).
describe('Redis Cluster: recovery', () => {
  it('a client resumes on another instance; a multi-room broadcast across slots replays once', async () => {
    const keyPrefix = prefix();
    const recovery = { historySize: 100, historyTtlMs: 60_000, sessionTtlMs: 30_000 };
    const [a, b, c] = [
      await hub(keyPrefix, recovery),
      await hub(keyPrefix, recovery),
      await hub(keyPrefix, recovery),
    ];
    // Four rooms on at least two shards (the key prefix is random: pick names until they span).
    const names = ['lobby', 'hall', 'den', 'attic', 'porch', 'cellar', 'loft', 'study'];
    const ownerByRoom = new Map<string, number>();
    for (const r of names)
      ownerByRoom.set(r, await ownerOf(adapterOf(a).channels().stream(`room:${r}`)));
    const first = ownerByRoom.get(names[0]);
    const other = names.find((r) => ownerByRoom.get(r) !== first);
    expect(other).toBeDefined(); // 8 names on one of 3 shards: (1/3)^7
    const rooms = [...names.filter((r) => r !== other).slice(0, 3), other!];
    const owners = rooms.map((r) => ownerByRoom.get(r));
    expect(new Set(owners).size).toBeGreaterThan(1); // the broadcast below spans shards
    const r = new Recovering();
    raws.push(r);
    await r.connect(a.url, 'ann');
    for (const room of rooms) await r.join(room);
    const id = r.clientId;
    c.hub.broadcast('x', 0, { rooms });
    await waitFor(() => r.pushes.some((f) => f.event === 'x'));
    r.c.terminate();
    await waitFor(() => !a.hub.isOnline(id));

    // Missed while away: one multi-room broadcast per round, a room message, a direct one.
    for (let i = 1; i <= 5; i++) {
      c.hub.broadcast('x', i, { rooms });
      c.hub.broadcast('solo', i, { rooms: rooms[i % rooms.length] });
      expect(c.hub.send(id, 'dm', i)).toBe(true);
      c.hub.broadcast('b', i);
    }
    await sleep(200);
    const welcome = await r.connect(b.url, 'ann');
    expect(welcome.data.clientId).toBe(id);
    expect(welcome.data.recovery.recovered).toBe(true);
    // What the app processed: a copy through a second room, or again after the seam (its mid
    // known), only advances the positions.
    const got = (event: string) => r.delivered.filter((f) => f.event === event).map((f) => f.data);
    // Each exactly once. Their order is each stream's offset order (the Recovering client
    // processes a frame only when it is next in every stream it is in, and `losses()` below
    // is empty), which need not be publish order on a Redis Cluster (README, "Redis Cluster"):
    // ioredis resends a command redirected by MOVED (a fresh cluster) after those sent
    // meanwhile, and there is no order across streams (the `solo` broadcasts go to four rooms).
    const once = (event: string) => [...(got(event) as number[])].sort((m, n) => m - n);
    await waitFor(() => got('b').length === 5);
    expect(got('x')[0]).toBe(0);
    expect(once('x')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(once('solo')).toEqual([1, 2, 3, 4, 5]);
    expect(once('dm')).toEqual([1, 2, 3, 4, 5]);
    expect(once('b')).toEqual([1, 2, 3, 4, 5]);

    // Live again, on b: send and room broadcasts reach it there, once.
    c.hub.broadcast('x', 6, { rooms });
    c.hub.send(id, 'dm', 6);
    await waitFor(() => got('dm').length === 6 && got('x').length === 7);
    expect(once('x')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(got('x').at(-1)).toBe(6); // published after the resume: after every replayed one
    expect(r.losses()).toEqual([]);
    expect(adapterOf(c).stats().publishFailures).toBe(0);
  }, 30_000);
});

describe('Redis Cluster: recovery after an instance is killed', () => {
  it('its clients resume on a survivor (SIGKILL of a child process): zero lost, zero duplicated', async () => {
    const keyPrefix = prefix();
    const recovery = { historySize: 5_000, historyTtlMs: 60_000, sessionTtlMs: 30_000 };
    const p = await hub(keyPrefix, recovery);
    const k = await spawnHubInstance({
      REDIS_CLUSTER: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
      KEY_PREFIX: keyPrefix,
      HEARTBEAT_MS: '200',
      TIMEOUT_MS: '1000',
      RECOVERY: 'on',
      HISTORY_SIZE: String(recovery.historySize),
    });
    children.push(k);
    const plan = [['r1'], ['r2'], ['r1', 'r2'], []];
    const cs: Recovering[] = [];
    for (const [i, rooms] of plan.entries()) {
      const r = new Recovering();
      raws.push(r);
      await r.connect(k.url, `u${i}`);
      for (const room of rooms) await r.join(room);
      cs.push(r);
    }
    // Warm p's routes to every stream's node first: a cluster this young may still answer MOVED,
    // and ioredis's retry of a redirected command can put it behind later ones (the README's
    // Redis Cluster caveat); this test is about the kill, on a settled topology.
    p.hub.broadcast('warm');
    p.hub.broadcast('warm', 1, { rooms: ['r1'] });
    p.hub.broadcast('warm', 2, { rooms: ['r2'] });
    await waitFor(() => cs[2].delivered.filter((f) => f.event === 'warm').length === 3, 5_000);
    const sent: { n: number; to: string[] }[] = [];
    let n = 0;
    const timer = setInterval(() => {
      n++;
      p.hub.broadcast('b', n);
      const to = [['r1'], ['r2'], ['r1', 'r2']][n % 3];
      p.hub.broadcast('r', n, { rooms: to });
      sent.push({ n, to });
    }, 5);
    try {
      await sleep(500);
      k.kill('SIGKILL');
      await Promise.all(cs.map((r) => r.c.closed(3_000)));
      await sleep(250);
      const welcomes = await Promise.all(cs.map((r, i) => r.connect(p.url, `u${i}`)));
      for (const [i, w] of welcomes.entries()) {
        expect(w.data.recovery, `client ${i}: ${cs[i].describe()}`).toMatchObject({
          recovered: true,
        });
      }
      await sleep(300);
    } finally {
      clearInterval(timer);
    }
    p.hub.broadcast('end');
    await waitFor(() => cs.every((r) => r.pushes.some((f) => f.event === 'end')), 10_000);
    const all = sent.map((m) => m.n);
    for (const [i, r] of cs.entries()) {
      expect(r.losses(), `client ${i}: continuity`).toEqual([]);
      const got = (event: string) =>
        r.delivered.filter((f) => f.event === event).map((f) => f.data as number);
      expect(got('b'), `client ${i}: broadcasts, in order`).toEqual(all);
      // Rooms on different shards: each message once (a copy through a second room is a skip);
      // order is per room, by offset (the client checks it).
      const mine = sent.filter((m) => m.to.some((x) => plan[i].includes(x))).map((m) => m.n);
      expect(
        [...got('r')].sort((a, b) => a - b),
        `client ${i}: room messages once`,
      ).toEqual(mine);
    }
    expect(all.length).toBeGreaterThan(50);
    expect(adapterOf(p).stats().publishFailures).toBe(0);
  }, 60_000);
});

describe('Redis Cluster: a master dies (SIGKILL), its replica takes over', () => {
  it('delivery between instances resumes on every shard, the lost one included', async () => {
    const logs = captureLogs(OUTAGE);
    const keyPrefix = prefix();
    const a = await hub(keyPrefix);
    const b = await hub(keyPrefix);
    // 12 rooms: their channels spread over the 3 shards.
    const rooms = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const member = await TestClient.welcomed(`${b.url}?token=m`);
    clients.push(member);
    for (const [i, room] of rooms.entries()) {
      await member.request({ event: 'join', id: i + 1, data: { room } });
    }
    const channel = (room: string) => adapterOf(a).channels().room(room);
    const owners = await Promise.all(rooms.map((r) => ownerOf(channel(r))));
    expect(new Set(owners).size).toBe(3);

    let n = 0;
    const tick = (): void => {
      n++;
      for (const room of rooms) a.hub.broadcast('m', { room, n }, { rooms: room });
      a.hub.broadcast('all', n);
    };
    const timer = setInterval(tick, 20);
    try {
      await sleep(300);
      const victim = owners[0];
      const lost = rooms.filter((_, i) => owners[i] === victim);
      const kept = rooms.filter((_, i) => owners[i] !== victim);
      const lastOf = (room: string) =>
        Math.max(
          0,
          ...member
            .events('m')
            .filter((f) => f.data.room === room)
            .map((f) => f.data.n),
        );
      await cluster.nodes.find((x) => x.port === victim)!.stop('SIGKILL');
      const killedAt = performance.now();
      const nAtKill = n;
      // Every room, the lost shard's too, delivers messages published after the kill again.
      await waitFor(() => rooms.every((r) => lastOf(r) > nAtKill + 5), RESUME_BOUND_MS);
      const resumedMs = performance.now() - killedAt;
      const newOwner = await ownerOf(channel(lost[0]));
      expect(newOwner).not.toBe(victim);
      figures.push(
        `master SIGKILL → delivery on its ${lost.length} rooms resumed in ${resumedMs.toFixed(0)} ms ` +
          `(other ${kept.length} rooms kept going; new owner ${newOwner})`,
      );
      // Presence works on the new topology too.
      await waitFor(async () => (await a.hub.clusterOnline()) === 1, 5_000);
    } finally {
      clearInterval(timer);
    }
    await cluster.waitForOk();
    // After the failover, every message is delivered once per room again.
    const from = n + 1;
    for (let i = 0; i < 5; i++) tick();
    await waitFor(
      () => member.events('m').filter((f) => f.data.n >= from).length === 5 * rooms.length,
      5_000,
    );
    expect(member.events('all').filter((f) => (f.data as number) >= from)).toHaveLength(5);
    // One outage per instance, logged once, and its end once.
    const restored = () =>
      logs.messages('log').filter((m) => /^Redis connection .* restored/.test(m));
    await waitFor(() => restored().length >= 2, 10_000);
    const outage = logs.entries.filter((e) => OUTAGE.test(e.message));
    figures.push(...outage.map((e) => `${e.level}: ${e.message}`));
    expect(logs.warnings().every((m) => OUTAGE.test(m))).toBe(true);
    expect(logs.warnings().length).toBeLessThanOrEqual(4); // no flapping: about one per instance
    expect(logs.errors()).toEqual([]);
  }, 60_000);
});
