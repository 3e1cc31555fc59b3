import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { HubApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import { settle } from '../helpers/recovering-client.js';
import { range, RecoveringHubs } from '../helpers/recovering-hubs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Adversarial probe (issue 17 review): a resuming client presents an offset past a stream's top
 * in the stream's own epoch. The README: "A client that resumes with an offset past a stream's
 * top in the same epoch (a rollback nothing else saw) also gets that stream a new epoch before
 * its welcome." Nothing distinguishes a rollback from a lie: any client with a session can
 * present `all` (which every client is in) or a room it is a member of at `top + 10^9`, and
 * the stream's history is deleted and its epoch renewed, so every recovering client in it, on
 * every instance, is closed with 1012 at the next message and resumes with `recovered: false`.
 *
 * The correct behaviour asserted here: the liar alone is told `recovered: false`; the other
 * clients never notice (no 1012, their next resume recovers everything).
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 2_000 };
const FAULT_LINES = /rolled back|epoch|history|resum|stream/i;

let redis: RedisServer;
let probe: Redis;
const recovering = new RecoveringHubs();
const { client } = recovering;

beforeAll(async () => {
  redis = await startRedisServer();
  probe = new Redis(redis.url);
}, 60_000);

afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

afterEach(() => recovering.close());

const prefix = () => `atk-${randomBytes(4).toString('hex')}`;

function hub(keyPrefix: string, options: WsHubModuleOptions = {}): Promise<HubApp> {
  return recovering.hub({ ...options, redis: { url: redis.url, keyPrefix, ...TIMING } });
}

async function publishAll(app: HubApp, from: number, n: number, rooms?: string[]) {
  for (let i = from; i < from + n; i++) {
    app.hub.broadcast('news', i, rooms ? { rooms } : undefined);
    await sleep(5);
  }
}

describe('attack: a presented offset past the top renews the epoch for everyone', () => {
  for (const target of ['all', 'room:lobby'] as const) {
    it(`a member presenting ${target} at top + 10^9 does not cost the other members their history`, async () => {
      captureLogs(FAULT_LINES);
      const p = prefix();
      const a = await hub(p);
      const b = await hub(p);
      const rooms = target === 'all' ? undefined : ['lobby'];
      const victims = [
        await client(a.url, 'v1', ['lobby']),
        await client(a.url, 'v2', ['lobby']),
        await client(b.url, 'v3', ['lobby']),
        await client(b.url, 'v4', ['lobby']),
      ];
      for (const v of victims) v.autoResume(v === victims[0] || v === victims[1] ? a.url : b.url);
      const attacker = await client(a.url, 'mallory', ['lobby']);
      await publishAll(a, 1, 5, rooms);
      await settle(() => victims.every((v) => v.got('news').length === 5), 5_000);
      for (const v of victims) expect(v.got('news')).toEqual([1, 2, 3, 4, 5]);
      const historyKey = `{${p}:${target}}:h`;
      const before = await probe.xlen(historyKey);
      expect(before).toBe(5);

      // The attack: resume with the stream's own epoch and an offset far past its top.
      const since = performance.now();
      const id = attacker.clientId;
      attacker.drop();
      await waitFor(() => !a.hub.isOnline(id));
      const pos = attacker.positions.get(target)!;
      attacker.positions.set(target, { epoch: pos.epoch, offset: pos.offset + 1e9 });
      await attacker.connect(a.url);
      const liar = attacker.welcomes(since)[0];
      expect(liar.recovered).toBe(false); // the liar is told, that is right

      await publishAll(b, 6, 5, rooms);
      await settle(
        () => victims.every((v) => v.got('news').length >= 10 || v.serverCloses(since).length > 0),
        5_000,
      );
      await sleep(500); // any resume triggered by a 1012 completes
      const closed = victims.filter((v) => v.closedBy(since, 1012)).length;
      const told = victims.filter((v) => v.toldLoss(since)).length;
      const after = await probe.xlen(historyKey);
      const report =
        `${target}: ${closed}/4 victims closed 1012, ${told}/4 told recovered:false, ` +
        `history entries ${before} -> ${after} (of which 5 new)`;
      // Correct: nobody but the liar notices.
      expect(closed, report).toBe(0);
      expect(told, report).toBe(0);
      for (const v of victims) expect(v.got('news'), report).toEqual(range(1, 10));
      expect(after, report).toBe(10);
    });
  }
});
