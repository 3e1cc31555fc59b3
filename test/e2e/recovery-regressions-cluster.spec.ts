import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/client.js';
import { Recovering, settle } from '../helpers/recovering-client.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

/**
 * Issue 17 on Redis Cluster (item 8): a multi-room broadcast whose rooms live on different
 * shards, replayed after a resume, must carry the positions of all the recipient's rooms, so
 * that a later resume never replays it again. A private 3-master cluster (no replicas: no
 * failover here), two instances in this process, a raw client following the continuity rule.
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 2_000 };

let cluster: RedisCluster;
const apps: HubApp[] = [];
const raws: Recovering[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const r of raws.splice(0)) r.stop();
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function hub(keyPrefix: string, options: WsHubModuleOptions = {}): Promise<HubApp> {
  const app = await startHub({
    rateLimit: false,
    recovery: true,
    authenticate: (_r, { token }) => (token ? { userId: token } : null),
    ...options,
    redis: { cluster: { nodes: cluster.startupNodes }, keyPrefix, ...TIMING },
  });
  apps.push(app);
  return app;
}

/** The port of the master serving `key`'s slot. */
async function ownerOf(key: string): Promise<number> {
  const probe = new Redis(cluster.startupNodes[0].port, '127.0.0.1');
  try {
    const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return Number(ranges.find(([from, to]) => slot >= from && slot <= to)![2][1]);
  } finally {
    probe.disconnect();
  }
}

describe('issue 17 on Redis Cluster', () => {
  it('8. a multi-room broadcast across shards is replayed once, with every position of the recipient, across two resumes', async () => {
    const p = `cg-${randomBytes(4).toString('hex')}`;
    const [a, b] = [await hub(p), await hub(p)];
    const rooms = ['lobby', 'hall', 'den', 'attic'];
    // A stream's keys and channel are `{<prefix>:<stream>}`: its slot is that hash tag's.
    const owners = await Promise.all(rooms.map((room) => ownerOf(`{${p}:room:${room}}`)));
    expect(new Set(owners).size).toBeGreaterThan(1);
    const r = new Recovering();
    raws.push(r);
    await r.connect(a.url, 'ann');
    for (const room of rooms) await r.join(room);
    b.hub.broadcast('x', 0, { rooms });
    await waitFor(() => r.got('x').length === 1);
    r.drop();
    await waitFor(() => a.hub.online === 0);

    for (const i of [1, 2, 3]) b.hub.broadcast('x', i, { rooms });
    await sleep(200);
    const first = await r.connect(b.url);
    expect(first.data.recovery.recovered).toBe(true);
    await settle(
      () => r.got('x').length >= 4 && Object.keys(r.shortOfWelcome()).length === 0,
      2_000,
    );
    expect(r.got('x')).toEqual([0, 1, 2, 3]);
    const streams = rooms.map((room) => 'room:' + room).sort();
    const replayed = r.pushes.filter((f) => f.event === 'x' && f.data !== 0);
    expect
      .soft(replayed.map((f) => Object.keys((f as { pos?: object }).pos ?? {}).sort()))
      .toEqual([streams, streams, streams]);
    expect.soft(r.shortOfWelcome(), 'positions the replay did not bring').toEqual({});

    // Nothing new: a second resume has nothing to replay.
    r.drop();
    await waitFor(() => b.hub.online === 0);
    const second = await r.connect(a.url);
    expect(second.data.recovery.recovered).toBe(true);
    b.hub.broadcast('end', 1);
    await waitFor(() => r.got('end').length === 1);
    expect(r.got('x'), r.describe()).toEqual([0, 1, 2, 3]);
  }, 30_000);
});
