import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { WS_HUB_ADAPTER } from '../../src/ws-hub/index.js';
import { RedisHubAdapter } from '../../src/ws-hub/redis/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

import { conformanceHubOptions, describeHubAdapterConformance } from './hub-adapter.conformance.js';

// The adapter conformance suite on a private Redis Cluster (3 masters, 1 replica each) in
// cluster mode: sharded pub/sub (SPUBLISH/SSUBSCRIBE), every channel and key hash-tagged.

const HEARTBEAT_MS = 200;
let cluster: RedisCluster | undefined;
let apps: HubApp[] = [];
const keyPrefix = `cconf-${randomBytes(4).toString('hex')}`;

const adapterOf = (app: HubApp): RedisHubAdapter => app.app.get(WS_HUB_ADAPTER) as RedisHubAdapter;

describeHubAdapterConformance('redis cluster (3 instances, 3 shards)', {
  instances: 3,
  presenceLatencyMs: HEARTBEAT_MS,
  start: async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    const redis = {
      cluster: { nodes: cluster.startupNodes },
      keyPrefix,
      heartbeatIntervalMs: HEARTBEAT_MS,
      instanceTimeoutMs: 1_000,
    };
    apps = [];
    for (let i = 0; i < 3; i++) apps.push(await startHub({ ...conformanceHubOptions, redis }));
    return apps;
  },
  stop: async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
    await cluster?.stop();
  },
  settle: async (list) => {
    await Promise.all(list.map((a) => adapterOf(a).settled()));
  },
  // Order holds per channel, not across shards: the fence (on `{prefix:all}`) may overtake
  // room, user and client messages on other shards. Wait until nothing more arrives.
  afterFence: async (list) => {
    const seen = () => list.reduce((sum, a) => sum + adapterOf(a).stats().received, 0);
    let last = seen();
    for (let quiet = 0; quiet < 5;) {
      await sleep(40);
      const now = seen();
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
  },
});

describe('redis cluster adapter: what crosses the cluster', () => {
  it('uses hash-tagged shard channels, subscribed per room while members are here', async () => {
    const rc = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    const opts = {
      cluster: { nodes: rc.startupNodes },
      heartbeatIntervalMs: HEARTBEAT_MS,
      instanceTimeoutMs: 1_000,
    };
    const a = await startHub({ ...conformanceHubOptions, redis: opts });
    const given = new Cluster(rc.startupNodes, { shardedSubscribers: true });
    const b = await startHub({ ...conformanceHubOptions, redis: { ...opts, client: given } });
    const probes = rc.startupNodes.map((n) => new Redis(n.port, n.host));
    const clients: TestClient[] = [];
    try {
      const names = adapterOf(a).channels();
      expect(names.all).toBe('{ws-hub:all}');
      expect(names.room('lobby')).toBe('{ws-hub:room:lobby}');
      expect(names.instance('i1')).toBe('{ws-hub:inst:i1}');
      const room = names.room('lobby');
      // SPUBSUB SHARDNUMSUB answers for the node's own slots: summed over the masters.
      const numsub = async (): Promise<number> => {
        let total = 0;
        for (const p of probes) {
          const r = (await p.call('PUBSUB', 'SHARDNUMSUB', room)) as [string, number];
          total += Number(r[1]);
        }
        return total;
      };
      expect(await numsub()).toBe(0);
      const m1 = await TestClient.welcomed(b.url);
      const outsider = await TestClient.welcomed(a.url);
      clients.push(m1, outsider);
      await m1.request({ event: 'join', id: 1, data: { room: 'lobby' } });
      await m1.request({ event: 'join', id: 2, data: { room: 'hall' } });
      await adapterOf(b).settled();
      expect(await numsub()).toBe(1);

      const before = adapterOf(b).stats();
      a.hub.broadcast('hi', { x: 1 }, { rooms: ['lobby', 'hall'] });
      await m1.next((f) => f.event === 'hi');
      a.hub.broadcast('fence');
      await m1.next((f) => f.event === 'fence');
      await waitFor(() => adapterOf(b).stats().duplicates - before.duplicates === 1);
      expect(m1.events('hi')).toHaveLength(1);
      expect(adapterOf(a).stats().publishFailures).toBe(0);

      await m1.close();
      await waitFor(() => b.hub.online === 0);
      await adapterOf(b).settled();
      await waitFor(async () => (await numsub()) === 0);
      await b.close();
      expect(given.status).toBe('ready'); // a given client is left open
    } finally {
      for (const c of clients) c.terminate();
      for (const p of probes) p.disconnect();
      await Promise.all([a.close(), b.close()]);
      given.disconnect();
      await rc.stop();
    }
  });
});
