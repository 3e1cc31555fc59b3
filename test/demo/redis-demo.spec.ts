import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, waitFor } from '../helpers/client.js';
import { startDemo } from '../helpers/demo.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

describe('demo app on two instances sharing Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  let a: Awaited<ReturnType<typeof startDemo>>;
  let b: Awaited<ReturnType<typeof startDemo>>;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    a = await startDemo({ REDIS_URL: redis.url });
    // in one process: the metrics of one instance only (prom-client's registry is global)
    b = await startDemo({ REDIS_URL: redis.url, HUB_METRICS: 'off' });
  });
  afterAll(async () => {
    for (const c of clients) c.terminate();
    await Promise.all([a?.app.close(), b?.app.close()].map((p) => p?.catch(() => undefined)));
    await redis?.stop();
  });

  it('reports the cluster in GET /stats and fans POST /broadcast out across instances', async () => {
    const onA = await TestClient.welcomed(`${a.ws}/ws`);
    const onB1 = await TestClient.welcomed(`${b.ws}/ws`);
    const onB2 = await TestClient.welcomed(`${b.ws}/ws`);
    clients.push(onA, onB1, onB2);
    expect(await onB1.request({ event: 'join', id: 1, data: { room: 'ops' } })).toMatchObject({
      event: 'joined',
    });

    await waitFor(
      async () => {
        const stats = (await (await fetch(`${a.base}/stats`)).json()) as any;
        return stats.online === 1 && stats.cluster.online === 3 && stats.cluster.instances === 2;
      },
      5000,
      100,
    );
    const statsB = (await (await fetch(`${b.base}/stats`)).json()) as any;
    expect(statsB).toMatchObject({ online: 2, cluster: { online: 3, instances: 2 } });

    const post = (body: unknown) =>
      fetch(`${a.base}/broadcast`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    expect(await post({ event: 'all', data: 1 })).toEqual({ status: 200, body: { delivered: 1 } });
    for (const c of [onA, onB1, onB2])
      expect(await c.next((f) => f.event === 'all')).toEqual({ event: 'all', data: 1 });

    expect(await post({ event: 'room', data: 2, rooms: ['ops'] })).toEqual({
      status: 200,
      body: { delivered: 0 },
    });
    expect(await onB1.next((f) => f.event === 'room')).toEqual({ event: 'room', data: 2 });

    expect((await post({ event: 'some', data: 3, except: [onB2.id] })).status).toBe(200);
    await onB1.next((f) => f.event === 'some');
    await onA.next((f) => f.event === 'some');
    // a fence: a later broadcast to everyone arrives after "some" would have
    await post({ event: 'fence' });
    await onB2.next((f) => f.event === 'fence');
    expect(onB2.events('some')).toHaveLength(0);
    expect(onA.events('room')).toHaveLength(0);
    expect(onB2.events('room')).toHaveLength(0);
  });
});
