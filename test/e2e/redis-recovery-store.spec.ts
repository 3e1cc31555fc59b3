import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  HubAdapterHost,
  HubAdapterMessage,
  Recorded,
} from '../../src/ws-hub/interfaces/cluster-adapter.interface.js';
import type { RecoveryStore } from '../../src/ws-hub/interfaces/recovery.interface.js';
import { encodeFrame } from '../../src/ws-hub/protocol/envelope.js';
import { RedisHubAdapter } from '../../src/ws-hub/redis/index.js';
import { sleep, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The Redis side of recovery without a hub: the publish script, the history reads and the
 * sessions, with adapters on fake hosts that record what they are given to apply.
 */

type Applied = Extract<HubAdapterMessage, { frame: string }> & Recorded;

interface Node {
  adapter: RedisHubAdapter;
  store: RecoveryStore;
  applied: Applied[];
}

let redis: RedisServer;
let probe: Redis;
const nodes: Node[] = [];
const gates: TcpProxy[] = [];
const OPTIONS = { historySize: 5, historyTtlMs: 1_500, sessionTtlMs: 1_000 };

beforeAll(async () => {
  Logger.overrideLogger(['error', 'warn']); // no Nest app here to set the levels
  redis = await startRedisServer();
  probe = new Redis(redis.url);
});

afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.adapter.close()));
  await Promise.all(gates.splice(0).map((g) => g.close()));
});

async function node(keyPrefix: string, url = redis.url, id = randomBytes(4).toString('hex')) {
  const adapter = new RedisHubAdapter({
    url,
    keyPrefix,
    heartbeatIntervalMs: 200,
    instanceTimeoutMs: 1_000,
    commandTimeoutMs: 300,
    initTimeoutMs: 1_000,
  });
  const store = adapter.recoveryStore(OPTIONS);
  const applied: Applied[] = [];
  const host: HubAdapterHost = {
    instanceId: id,
    localOnline: 0,
    applyRemote: (m) => applied.push(m as Applied),
  };
  await adapter.init(host);
  const n = { adapter, store, applied };
  nodes.push(n);
  return n;
}

const prefix = () => `rs-${randomBytes(4).toString('hex')}`;
const frame = (n: number) => encodeFrame('m', n);
const broadcast = (n: number, streams = ['all'], extra: object = {}): Applied => ({
  type: 'broadcast',
  frame: frame(n),
  streams,
  ...extra,
});

describe('Redis recovery: publish script and history', () => {
  it('appends and publishes in one step; every instance, the publisher included, gets it positioned', async () => {
    const p = prefix();
    const [a, b] = [await node(p), await node(p)];
    a.adapter.publish(broadcast(1));
    await waitFor(() => a.applied.length === 1 && b.applied.length === 1);
    const mine = a.applied[0];
    const theirs = b.applied[0];
    expect(mine.own).toBe(true);
    expect(theirs.own).toBeUndefined();
    expect(mine.frame).toBe(frame(1));
    expect(theirs.frame).toBe(frame(1));
    const epoch = mine.positioned!.positions.all[1];
    expect(mine.positioned).toEqual({
      text: frame(1).slice(0, -1) + `,"pos":{"all":[1,"${epoch}"]}}`,
      positions: { all: [1, epoch] },
    });
    expect(theirs.positioned).toEqual(mine.positioned);
    const h = await b.store.read('all', { epoch, offset: 0 }, 1000);
    expect(h).toMatchObject({ epoch, top: 1, complete: true });
    expect(h.entries.map((e) => e.text)).toEqual([mine.positioned!.text]);
    expect(a.adapter.stats()).toMatchObject({ historyWrites: 1, historyFailures: 0 });
  });

  it('positions a multi-room broadcast in every room, applies it once, keeps except, and keeps order', async () => {
    const p = prefix();
    const [a, b] = [await node(p), await node(p)];
    for (const room of ['r1', 'r2']) {
      await a.adapter.roomAdded(room);
      await b.adapter.roomAdded(room);
    }
    b.adapter.publish(broadcast(1, ['room:r1']));
    a.adapter.publish(
      broadcast(2, ['room:r1', 'room:r2'], { rooms: ['r1', 'r2'], except: ['x.1'] }),
    );
    for (let n = 3; n <= 20; n++) a.adapter.publish(broadcast(n, ['room:r2'], { rooms: ['r2'] }));
    await waitFor(() => a.applied.length === 20 && b.applied.length === 20);
    for (const list of [a.applied, b.applied]) {
      expect(list.map((m) => JSON.parse(m.frame).data)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }
    const multi = a.applied[1].positioned!.positions;
    expect(Object.keys(multi)).toEqual(['room:r1', 'room:r2']);
    expect([multi['room:r1'][0], multi['room:r2'][0]]).toEqual([2, 1]);
    const r2 = await b.store.read('room:r2', { epoch: '', offset: 0 }, 1000);
    expect(r2.top).toBe(19);
    expect(r2.complete).toBe(false); // history size 5
    const r1 = await b.store.read('room:r1', { epoch: multi['room:r1'][1], offset: 1 }, 1000);
    expect(r1.complete).toBe(true);
    expect(r1.entries).toEqual([expect.objectContaining({ positions: multi, except: ['x.1'] })]);
    const tail = await a.store.read('room:r2', { epoch: multi['room:r2'][1], offset: 14 }, 1000);
    expect(tail.complete).toBe(true);
    expect(tail.entries.map((e) => e.positions['room:r2'][0])).toEqual([15, 16, 17, 18, 19]);
  });

  it('starts a new epoch when the stream was lost (Redis emptied)', async () => {
    const p = prefix();
    const a = await node(p);
    a.adapter.publish(broadcast(1));
    await waitFor(() => a.applied.length === 1);
    const old = a.applied[0].positioned!.positions.all[1];
    await probe.flushall();
    const lost = await a.store.read('all', { epoch: old, offset: 1 }, 1000);
    expect(lost).toMatchObject({ epoch: '', top: 0, complete: false });
    a.adapter.publish(broadcast(2));
    await waitFor(() => a.applied.length === 2);
    const [offset, epoch] = a.applied[1].positioned!.positions.all;
    expect(offset).toBe(1);
    expect(epoch).not.toBe(old);
    expect((await a.store.read('all', { epoch: old, offset: 1 }, 1000)).complete).toBe(false);
  });

  it('ignores entries older than the history TTL; a stream lives historyTtlMs past its last write or touch', async () => {
    const p = prefix();
    const a = await node(p);
    a.adapter.publish(broadcast(1));
    await waitFor(() => a.applied.length === 1);
    const epoch = a.applied[0].positioned!.positions.all[1];
    a.adapter.publish(broadcast(2));
    await waitFor(() => a.applied.length === 2);
    await sleep(OPTIONS.historyTtlMs / 2 + 100);
    a.adapter.publish(broadcast(3));
    await waitFor(() => a.applied.length === 3);
    await sleep(OPTIONS.historyTtlMs / 2 + 100);
    // entries 1 and 2 are older than the TTL though the keys live on (refreshed by entry 3)
    const h = await a.store.read('all', { epoch, offset: 1 }, 3);
    expect(h.complete).toBe(false);
    expect(h.entries.map((e) => e.positions.all[0])).toEqual([3]);
    expect((await a.store.read('all', { epoch, offset: 2 }, 3)).complete).toBe(true);
    // Touched (a recovering client is in it), the stream's epoch and offset outlive its history
    for (let i = 0; i < 4; i++) {
      a.store.touch([], ['all']);
      await sleep(OPTIONS.historyTtlMs / 3);
    }
    expect(await a.store.read('all', { epoch, offset: 3 }, 3)).toMatchObject({
      epoch,
      top: 3,
      complete: true,
    });
    // ... and without a touch it is gone historyTtlMs after: nobody can resume it any more
    await sleep(OPTIONS.historyTtlMs + 200);
    expect(await a.store.tops(['all'])).toEqual([{ stream: 'all', epoch: '', top: 0 }]);
    expect(await probe.exists(`{${p}:all}:m`, `{${p}:all}:h`)).toBe(0);
  });
});

describe('Redis recovery: when the history cannot be written', () => {
  const OUTAGE = /^Redis unavailable/;

  it('delivers nothing unpositioned, then marks the gap with a tombstone once Redis is back', async () => {
    const logs = captureLogs(OUTAGE);
    const p = prefix();
    const gate = await startTcpProxy(redis.port);
    gates.push(gate);
    const a = await node(p, gate.url);
    const b = await node(p);
    a.adapter.publish(broadcast(1));
    await waitFor(() => a.applied.length === 1 && b.applied.length === 1);
    const epoch = a.applied[0].positioned!.positions.all[1];

    gate.refuse(true);

    gate.cut();
    await waitFor(() => !a.adapter.stats().connected);
    a.adapter.publish(broadcast(2));
    // Recovering clients get a message positioned or not at all (plain ones had it at publish).
    await sleep(100);
    expect(a.applied).toHaveLength(1);
    expect(a.adapter.stats()).toMatchObject({ historyFailures: 1, gapsPending: 1 });
    // not recorded yet: a resume now would not know (the window this closes once Redis is back)
    expect((await b.store.read('all', { epoch, offset: 1 }, 1)).complete).toBe(true);

    gate.refuse(false);
    await waitFor(() => a.adapter.stats().gapsMarked === 1, 5_000);
    expect(a.adapter.stats().gapsPending).toBe(0);
    const h = await b.store.read('all', { epoch, offset: 1 }, 2);
    expect(h).toMatchObject({ epoch, top: 2, complete: false, entries: [] });
    // the next message follows the tombstone (a gap for live clients: they resume, and are
    // told); a client past the tombstone lost nothing
    a.adapter.publish(broadcast(3));
    await waitFor(() => b.applied.length === 2);
    expect(b.applied[1].positioned!.positions.all).toEqual([3, epoch]);
    expect((await b.store.read('all', { epoch, offset: 2 }, 3)).complete).toBe(true);
    expect(warnings(logs)).toHaveLength(1);
  });

  it('does not wait for a slow Redis: past the command timeout the message is counted lost, and a late copy is delivered once, positioned', async () => {
    const logs = captureLogs(OUTAGE);
    const p = prefix();
    const gate = await startTcpProxy(redis.port);
    gates.push(gate);
    const a = await node(p, gate.url);
    const b = await node(p);
    a.adapter.publish(broadcast(1));
    await waitFor(() => a.applied.length === 1);
    gate.pause();
    a.adapter.publish(broadcast(2));
    await waitFor(() => a.adapter.stats().historyFailures === 1, 2_000); // commandTimeoutMs 300
    expect(a.applied).toHaveLength(1);
    gate.resume();
    // Redis ran the script after all: every instance gets it positioned, this one once
    await waitFor(() => a.applied.length === 2 && b.applied.length === 2, 3_000);
    expect(a.applied[1].positioned!.positions.all[0]).toBe(2);
    a.adapter.publish(broadcast(3));
    await waitFor(() => a.applied.length === 3 && b.applied.length === 3, 3_000);
    expect(a.applied.map((m) => JSON.parse(m.frame).data)).toEqual([1, 2, 3]);
    await waitFor(() => a.adapter.stats().gapsMarked === 1, 3_000);
    // conservative: the stream says a resume across the tombstone may have missed something
    const epoch = b.applied[0].positioned!.positions.all[1];
    expect((await b.store.read('all', { epoch, offset: 1 }, 4)).complete).toBe(false);
    expect(warnings(logs).length).toBeLessThanOrEqual(1);
  });
});

describe('Redis recovery: sessions', () => {
  it('resumes once with the right secret and user, and tells unknown, mismatch and wrong user apart', async () => {
    const a = await node(prefix());
    const s = a.store;
    await s.createSession('i1.c1', 'ann', 'H1', 'k1');
    await s.createSession('i1.c2', undefined, 'A1', 'k2');
    const outcome = async (...args: Parameters<RecoveryStore['resumeSession']>) =>
      (await s.resumeSession(...args)).outcome;
    expect(await outcome('i1.nope', 'ann', 'H1', 'H2', 'k3')).toBe('unknown');
    expect(await outcome('i1.c1', 'ann', 'bad', 'H2', 'k3')).toBe('mismatch');
    expect(await outcome('i1.c1', 'bob', 'H1', 'H2', 'k3')).toBe('wrong-user');
    expect(await outcome('i1.c1', undefined, 'H1', 'H2', 'k3')).toBe('wrong-user');
    // Resumed while k1 still holds it: the result names k1 (to be closed with 4409).
    expect(await s.resumeSession('i1.c1', 'ann', 'H1', 'H2', 'k3')).toEqual({
      outcome: 'ok',
      rooms: new Map(),
      floors: new Map(),
      previousHolder: 'k1',
    });
    expect(await outcome('i1.c1', 'ann', 'H1', 'H3', 'k4')).toBe('mismatch'); // used once
    s.release('i1.c1', 'k1'); // the old holder letting go changes nothing: k3 holds it
    await s.addRoom('i1.c1', 'lobby', true);
    await s.addRoom('i1.c1', 'lobby', true, { offset: 7, epoch: 'E' }); // where it started
    await s.addRoom('i1.c1', 'news', false);
    s.removeRoom('i1.c1', 'news');
    s.release('i1.c1', 'k3');
    await sleep(50);
    expect(await s.resumeSession('i1.c1', 'ann', 'H2', 'H3', 'k4')).toEqual({
      outcome: 'ok',
      rooms: new Map([['lobby', true]]),
      floors: new Map([['lobby', { offset: 7, epoch: 'E' }]]),
      previousHolder: undefined,
    });
    expect(await outcome('i1.c2', '', 'A1', 'A2', 'k5')).toBe('wrong-user');
    expect(await outcome('i1.c2', undefined, 'A1', 'A2', 'k5')).toBe('ok');
    expect(await outcome('i1.{x}', 'ann', 'H1', 'H2', 'k6')).toBe('unknown');
    await s.deleteSession('i1.c2');
    expect(await outcome('i1.c2', undefined, 'A2', 'A3', 'k7')).toBe('unknown');
  });

  it('keeps a connected session alive while touched, and ends it sessionTtlMs after release', async () => {
    const a = await node(prefix());
    const s = a.store;
    await s.createSession('i1.live', 'ann', 'L1', 'k1');
    await s.createSession('i1.gone', 'ann', 'G1', 'k2');
    s.release('i1.gone', 'k2');
    for (let i = 0; i < 4; i++) {
      await sleep(OPTIONS.sessionTtlMs / 2);
      s.touch(['i1.live'], []);
    }
    expect((await s.resumeSession('i1.gone', 'ann', 'G1', 'G2', 'k3')).outcome).toBe('unknown');
    expect((await s.resumeSession('i1.live', 'ann', 'L1', 'L2', 'k3')).outcome).toBe('ok');
  });

  it('fails fast, without leaking arguments, when Redis is away', async () => {
    const logs = captureLogs(/^Redis unavailable/);
    const gate = await startTcpProxy(redis.port);
    gates.push(gate);
    const a = await node(prefix(), gate.url);
    gate.refuse(true);
    gate.cut();
    await waitFor(() => !a.adapter.stats().connected);
    await expect(a.store.resumeSession('i1.x', 'ann', 'SECRET-HASH', 'N', 'k')).rejects.toThrow(
      /not connected/,
    );
    await expect(a.store.read('all', undefined, 1000)).rejects.toThrow(/not connected/);
    expect(logs.messages().join('\n')).not.toContain('SECRET-HASH');
  });
});

function warnings(logs: ReturnType<typeof captureLogs>): string[] {
  return logs.warnings().filter((m) => m.startsWith('Redis unavailable'));
}
