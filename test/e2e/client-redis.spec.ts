import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { waitFor } from '../helpers/client.js';
import { ensureLibraryBuilt, spawnHubInstance, type HubInstance } from '../helpers/hub-instance.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Failover with `ws-hub/client`: two Redis-backed instances, clients given both URLs (a `url`
 * function rotating through them); one instance is killed with SIGKILL and its clients come back
 * on the other, rejoin their rooms and keep receiving broadcasts and room messages.
 */

let redis: RedisServer;
let a: HubInstance | undefined;
let b: HubApp | undefined;
const clients: WsHubClient[] = [];

beforeAll(async () => {
  ensureLibraryBuilt();
  redis = await startRedisServer();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  a?.kill();
  await b?.close();
  await redis?.stop();
});

interface Watched {
  client: WsHubClient;
  changes: HubStateChange[];
  got: { event: string; data: unknown }[];
}

describe('ws-hub/client failover between two Redis-backed instances', () => {
  it('clients of a SIGKILLed instance come back on the other, rejoin and keep receiving', async () => {
    const keyPrefix = `client-failover-${randomBytes(4).toString('hex')}`;
    const timing = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1000 };
    a = await spawnHubInstance({
      REDIS_URL: redis.url,
      KEY_PREFIX: keyPrefix,
      HEARTBEAT_MS: String(timing.heartbeatIntervalMs),
      TIMEOUT_MS: String(timing.instanceTimeoutMs),
    });
    b = await startHub({ rateLimit: false, redis: { url: redis.url, keyPrefix, ...timing } });
    const urls = [a.url, b.url];

    // four clients start on A, two on B; each tries the other URL on its next attempt
    const watched: Watched[] = [];
    for (let k = 0; k < 6; k++) {
      let attempt = k < 4 ? 0 : 1;
      const client = createHubClient(() => urls[attempt++ % urls.length], {
        WebSocket,
        reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
      });
      clients.push(client);
      const w: Watched = { client, changes: [], got: [] };
      client.onState((change) => w.changes.push(change));
      for (const event of ['news', 'ops', `solo-${k}`]) {
        client.on(event, (data) => w.got.push({ event, data }));
      }
      watched.push(w);
    }
    await waitFor(() => watched.every((w) => w.client.state === 'open'), 5000);
    await Promise.all(
      watched.map(async (w, k) => {
        await w.client.join('ops');
        await w.client.join(`solo-${k}`);
      }),
    );
    const onA = watched.slice(0, 4);
    expect(onA.map((w) => w.client.welcome!.clientId.startsWith(a!.id))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(b.hub.online).toBe(2);
    await waitFor(async () => (await b!.hub.clusterOnline()) === 6, 5000, 50);

    // before the kill: B's broadcasts reach A's clients through Redis
    b.hub.broadcast('news', { n: 1 });
    await waitFor(() => watched.every((w) => w.got.some((g) => g.event === 'news')), 3000);

    const firstIds = watched.map((w) => w.client.welcome!.clientId);
    const killedAt = performance.now();
    a.kill('SIGKILL');
    await a.exited;
    await waitFor(() => b!.hub.online === 6, 10_000, 20);
    // every client is in its rooms again on B, rejoined by the client library
    await waitFor(() => b!.hub.membersOf('ops').length === 6, 5000, 20);
    const backMs = performance.now() - killedAt;
    expect(backMs).toBeLessThan(5000);
    for (const [k, w] of watched.entries()) {
      expect(w.client.state).toBe('open');
      expect(b.hub.roomsOf(w.client.welcome!.clientId).sort()).toEqual(['ops', `solo-${k}`]);
    }
    // A's clients saw the drop (1006) and got new ids on B; B's clients never noticed
    for (const [k, w] of onA.entries()) {
      expect(w.client.welcome!.clientId).not.toBe(firstIds[k]);
      expect(w.client.welcome!.clientId.startsWith(a.id)).toBe(false);
      expect(w.changes).toContainEqual(
        expect.objectContaining({ state: 'reconnecting', code: 1006, willRetry: true }),
      );
    }
    for (const w of watched.slice(4)) expect(w.changes.map((c) => c.state)).toEqual(['open']);

    // after the failover: broadcasts, room messages and single-room messages all arrive
    for (const w of watched) w.got.length = 0;
    expect(b.hub.broadcast('news', { n: 2 })).toBe(6);
    expect(b.hub.broadcast('ops', { n: 3 }, { rooms: ['ops'] })).toBe(6);
    expect(b.hub.broadcast('solo-2', { n: 4 }, { rooms: ['solo-2'] })).toBe(1);
    await waitFor(() => watched.every((w) => w.got.length >= 2), 3000);
    await waitFor(() => watched[2].got.length === 3, 3000);
    for (const [k, w] of watched.entries()) {
      const expected = [
        { event: 'news', data: { n: 2 } },
        { event: 'ops', data: { n: 3 } },
      ];
      if (k === 2) expected.push({ event: 'solo-2', data: { n: 4 } });
      expect(w.got).toEqual(expected);
    }
  }, 60_000);
});
