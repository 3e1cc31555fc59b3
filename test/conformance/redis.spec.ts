import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { WS_HUB_ADAPTER } from '../../src/ws-hub/index.js';
import { RedisHubAdapter } from '../../src/ws-hub/redis/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { conformanceHubOptions, describeHubAdapterConformance } from './hub-adapter.conformance.js';

const HEARTBEAT_MS = 200;
let redis: RedisServer | undefined;
let apps: HubApp[] = [];
const keyPrefix = `conf-${randomBytes(4).toString('hex')}`;

const adapterOf = (app: HubApp): RedisHubAdapter => app.app.get(WS_HUB_ADAPTER) as RedisHubAdapter;

describeHubAdapterConformance('redis (3 instances)', {
  instances: 3,
  presenceLatencyMs: HEARTBEAT_MS,
  start: async () => {
    redis = await startRedisServer();
    const redisOptions = {
      url: redis.url,
      keyPrefix,
      heartbeatIntervalMs: HEARTBEAT_MS,
      instanceTimeoutMs: 1_000,
    };
    apps = [];
    for (let i = 0; i < 3; i++)
      apps.push(await startHub({ ...conformanceHubOptions, redis: redisOptions }));
    return apps;
  },
  stop: async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
    await redis?.stop();
  },
  settle: async (list) => {
    await Promise.all(list.map((a) => adapterOf(a).settled()));
  },
});

describe('redis adapter: what crosses Redis', () => {
  it('subscribes an instance to a room only while it has members there, and decodes each message once', async () => {
    const server = await startRedisServer();
    const opts = { url: server.url, heartbeatIntervalMs: HEARTBEAT_MS, instanceTimeoutMs: 1_000 };
    const a = await startHub({ ...conformanceHubOptions, redis: opts });
    const b = await startHub({ ...conformanceHubOptions, redis: opts });
    const probe = new Redis(server.url);
    const clients: TestClient[] = [];
    try {
      const room = adapterOf(a).channels().room('lobby');
      const numsub = async (): Promise<number> => Number((await probe.pubsub('NUMSUB', room))[1]);
      expect(await numsub()).toBe(0);

      const m1 = await TestClient.welcomed(b.url);
      const m2 = await TestClient.welcomed(b.url);
      const outsider = await TestClient.welcomed(a.url);
      clients.push(m1, m2, outsider);
      await m1.request({ event: 'join', id: 1, data: { room: 'lobby' } });
      await m2.request({ event: 'join', id: 1, data: { room: 'lobby' } });
      await m1.request({ event: 'join', id: 2, data: { room: 'hall' } });
      await adapterOf(b).settled();
      expect(await numsub()).toBe(1); // instance b only, once, whatever its member count

      const before = adapterOf(b).stats();
      a.hub.broadcast('hi', { x: 1 }, { rooms: ['lobby', 'hall'] });
      await m1.next((f) => f.event === 'hi');
      await m2.next((f) => f.event === 'hi');
      a.hub.broadcast('fence');
      await m1.next((f) => f.event === 'fence');
      expect(m1.events('hi')).toHaveLength(1);
      const after = adapterOf(b).stats();
      expect(after.received - before.received).toBe(2); // the broadcast (once, for 2 rooms) + fence
      expect(after.duplicates - before.duplicates).toBe(1); // the second room's copy
      expect(adapterOf(a).stats().published).toBeGreaterThanOrEqual(2);

      await m1.close();
      await m2.close();
      await waitFor(() => b.hub.online === 0);
      await adapterOf(b).settled();
      expect(await numsub()).toBe(0);
    } finally {
      for (const c of clients) c.terminate();
      probe.disconnect();
      await Promise.all([a.close(), b.close()]);
      await server.stop();
    }
  });
});

describe('redis adapter: existing client', () => {
  it('works with existing ioredis clients and leaves them open', async () => {
    const server = await startRedisServer();
    const shared = [new Redis(server.url), new Redis(server.url)];
    const [a, b] = [
      await startHub({
        ...conformanceHubOptions,
        redis: { client: shared[0], heartbeatIntervalMs: HEARTBEAT_MS, instanceTimeoutMs: 1_000 },
      }),
      await startHub({
        ...conformanceHubOptions,
        redis: { client: shared[1], heartbeatIntervalMs: HEARTBEAT_MS, instanceTimeoutMs: 1_000 },
      }),
    ];
    const clients: TestClient[] = [];
    try {
      const b1 = await TestClient.welcomed(b.url);
      clients.push(b1);
      a.hub.broadcast('via-shared', { ok: true });
      expect((await b1.next((f) => f.event === 'via-shared')).data).toEqual({ ok: true });
      await waitFor(async () => (await a.hub.clusterOnline()) === 1);
      await b.close();
      expect((await a.hub.instances()).map((i) => i.id)).toEqual([a.hub.instanceId]);
      expect(shared[1].status).toBe('ready');
      expect(await shared[1].ping()).toBe('PONG');
    } finally {
      for (const c of clients) c.terminate();
      await Promise.all([a.close(), b.close()]);
      for (const c of shared) c.disconnect();
      await server.stop();
    }
  });
});
