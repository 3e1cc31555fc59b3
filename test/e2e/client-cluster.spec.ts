import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import type { HubApp } from '../helpers/app.js';
import { RecoveringHubs } from '../helpers/recovering-hubs.js';
import { sleep, waitFor } from '../helpers/client.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { startRelay, type Relay } from '../helpers/ws-relay.js';

/**
 * `ws-hub/client` on Redis Cluster: a multi-room broadcast is appended once per room (each room
 * on its own shard), every copy with the same `mid`. The hub sends the client the first copy and
 * `skip` for the others; should the client get a second copy (a resume on another instance
 * between two copies: here a relay turns the skips into copies), the app still gets the message
 * once, and every room's position moves on. A private 3-master cluster, two instances.
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 2_000 };

let cluster: RedisCluster;
const recovering = new RecoveringHubs();
const clients: WsHubClient[] = [];
let relay: Relay | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
  await recovering.close();
});

function hub(keyPrefix: string): Promise<HubApp> {
  return recovering.hub({
    redis: { cluster: { nodes: cluster.startupNodes }, keyPrefix, ...TIMING },
  });
}

const parse = (frames: string[]) => frames.map((f) => JSON.parse(f));

describe('ws-hub/client on Redis Cluster', () => {
  it('a multi-room message reaches the app once, through skip frames and through repeated copies (mid)', async () => {
    const p = `cc-${randomBytes(4).toString('hex')}`;
    const [a, b] = [await hub(p), await hub(p)];
    relay = await startRelay(a.url);
    const client = createHubClient(relay.url, {
      WebSocket,
      token: 'ann',
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    clients.push(client);
    const changes: HubStateChange[] = [];
    client.onState((c) => changes.push(c));
    const got: unknown[][] = [];
    client.onAny((event, data, replayed) => got.push([event, data, replayed]));
    await waitFor(() => client.state === 'open', 5000);
    const rooms = ['lobby', 'hall', 'den', 'attic'];
    for (const room of rooms) await client.join(room);

    // 1. as the hub sends it: one copy (with its mid) and skips for the other rooms
    b.hub.broadcast('x', 1, { rooms });
    await waitFor(() => got.length === 1, 5000);
    const seen = () =>
      parse(relay!.fromHub[0])
        .filter((f) => f.event === 'x' || f.event === 'skip')
        .flatMap((f) => Object.keys(f.pos))
        .sort();
    await waitFor(() => seen().length === rooms.length, 5000);
    const first = parse(relay.fromHub[0]).filter((f) => f.event === 'x' || f.event === 'skip');
    expect(first[0]).toMatchObject({ event: 'x', data: 1, mid: expect.anything() });
    expect(first.slice(1).every((f) => f.event === 'skip')).toBe(true);
    expect(seen()).toEqual(rooms.map((r) => `room:${r}`).sort());

    // 2. every skip turned into a copy of the message (same mid, its room's position)
    let last = '';
    relay.tamper = (text) => {
      const f = JSON.parse(text);
      if (f.event === 'x') last = text;
      if (f.event !== 'skip' || !last) return [text];
      return [last.slice(0, last.lastIndexOf(',"pos":')) + ',"pos":' + JSON.stringify(f.pos) + '}'];
    };
    b.hub.broadcast('x', 2, { rooms });
    a.hub.broadcast('x', 3, { rooms });
    await waitFor(() => got.length === 3, 5000);
    await sleep(300);
    expect(got).toEqual([
      ['x', 1, false],
      ['x', 2, false],
      ['x', 3, false],
    ]);
    expect(relay.clientCloses).toEqual([]); // every copy continued its room: no gap
    expect(changes.map((c) => c.state)).toEqual(['open']);

    // 3. a resume after all that replays nothing twice: the positions were right
    relay.tamper = (text) => [text];
    relay.cut();
    // (once A has seen the drop: see the next test for a message sent into the dying socket)
    await waitFor(() => a.hub.online === 0);
    b.hub.broadcast('x', 4, { rooms });
    await waitFor(() => changes.filter((c) => c.state === 'open').length === 2, 5000);
    expect(client.recovered).toBe(true);
    await waitFor(() => got.length === 4, 5000);
    await sleep(300);
    expect(got[3]).toEqual(['x', 4, true]);
    expect(got).toHaveLength(4);
  }, 30_000);

  // The copy ledger keeps the positions of the copy each client got, and a resume honours it
  // only if the positions the client presents cover them: a copy written into a connection
  // that was already dead never reached the client, and is replayed.
  it('a multi-room message written into a dead connection is replayed after the resume (same instance)', async () => {
    const p = `cd-${randomBytes(4).toString('hex')}`;
    const a = await hub(p);
    const proxy = await startTcpProxy(a.port);
    try {
      const client = createHubClient(`ws://127.0.0.1:${proxy.port}/ws`, {
        WebSocket,
        token: 'ann',
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      clients.push(client);
      const got: unknown[][] = [];
      client.onAny((event, data, replayed) => got.push([event, data, replayed]));
      let opens = 0;
      client.onState((c) => (opens += c.state === 'open' ? 1 : 0));
      await waitFor(() => client.state === 'open', 5000);
      const rooms = ['lobby', 'hall', 'den', 'attic'];
      for (const room of rooms) await client.join(room);
      a.hub.broadcast('x', 1, { rooms });
      await waitFor(() => got.length === 1, 5000);
      proxy.freeze(); // the hub writes into the void
      a.hub.broadcast('x', 2, { rooms });
      await sleep(300);
      proxy.cut();
      proxy.thaw();
      await waitFor(() => opens === 2, 5000);
      await waitFor(() => got.length === 2 || client.recovered === false, 3000).catch(
        () => undefined,
      );
      expect(client.recovered).toBe(true);
      expect(got).toEqual([
        ['x', 1, false],
        ['x', 2, true],
      ]);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
