import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { HubApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import { invariantProblems, Recovering, settle } from '../helpers/recovering-client.js';
import { range, RecoveringHubs } from '../helpers/recovering-hubs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Adversarial probes (issue 17 review) of recovery on Redis: a Redis restart from its AOF
 * between a publish and a resume (the run-id stamping), two resumes of one credential at once
 * on two instances, `sendToUser` across a subscriber kill for a user connected to two
 * instances, and the history size's exact edge.
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 2_000 };
const OUTAGE = /^Redis unavailable|^Redis connection to .* restored/;
const FAULT_LINES = /Redis|subscri|epoch|offset|gap|contiguous|continuity|resum|history|stream/i;

let redis: RedisServer;
let probe: Redis;
const recovering = new RecoveringHubs();
const { client, drop, raws } = recovering;
const servers: RedisServer[] = [];
const gates: TcpProxy[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  probe = new Redis(redis.url);
}, 60_000);

afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

afterEach(async () => {
  await recovering.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await Promise.all(gates.splice(0).map((g) => g.close()));
});

const prefix = () => `atr-${randomBytes(4).toString('hex')}`;

function hub(
  keyPrefix: string,
  options: WsHubModuleOptions = {},
  url = redis.url,
): Promise<HubApp> {
  return recovering.hub({
    ...options,
    redis: { url, keyPrefix, ...TIMING, reconnectMaxDelayMs: 200 },
  });
}

describe('attack: Redis restarted from its AOF between a publish and a resume', () => {
  it('the client away and the client connected are each given every message or told', async () => {
    captureLogs(OUTAGE, FAULT_LINES);
    const server = await startRedisServer({
      extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always'],
    });
    servers.push(server);
    const p = prefix();
    const a = await hub(p, {}, server.url);
    const b = await hub(p, {}, server.url);
    const live = (await client(b.url, 'live', ['r'])).autoResume(b.url);
    const away = await client(a.url, 'away', ['r']);
    for (const i of range(1, 3)) a.hub.broadcast('n', i, { rooms: 'r' });
    await waitFor(() => live.got('n').length === 3 && away.got('n').length === 3);
    await drop(away, a);
    const since = performance.now();
    for (const i of range(4, 5)) a.hub.broadcast('n', i, { rooms: 'r' });
    await waitFor(() => live.got('n').length === 5);

    // The restart: every write is on disk (appendfsync always); a new process, a new run id.
    await server.restart();
    const admin = new Redis(server.url);
    const sessions = await admin.keys(`{${p}:client:*}:s`);
    admin.disconnect();
    expect(sessions.length, 'the sessions came back from the AOF').toBeGreaterThan(0);
    await waitFor(
      () => (a.hub.stats().adapter as { connected?: boolean } | undefined)?.connected === true,
      5_000,
    ).catch(() => undefined);
    await sleep(500);
    for (const i of range(6, 8)) b.hub.broadcast('n', i, { rooms: 'r' });
    await settle(() => live.got('n').length >= 8 || live.toldLoss(since, 'room:r'), 3_000);

    away.autoResume(a.url);
    await away.connect(a.url);
    for (const i of range(9, 10)) a.hub.broadcast('n', i, { rooms: 'r' });
    await settle(
      () =>
        (away.got('n').length >= 10 || away.toldLoss(since, 'room:r')) &&
        (live.got('n').length >= 10 || live.toldLoss(since, 'room:r')),
      3_000,
    );
    await sleep(300);
    if (process.env.SHOW_FIGURES) {
      for (const r of [live, away])
        console.log(`[figures] AOF restart: ${r.describe(4)}; told=${r.toldLoss(since)}`);
    }
    for (const [name, r] of [
      ['live', live],
      ['away', away],
    ] as const) {
      expect(
        invariantProblems(r, { stream: 'room:r', event: 'n', expected: range(4, 10), since }),
        name,
      ).toEqual([]);
      // After the restart, the messages published then must reach the client: nothing more
      // is lost once a client was told.
      const after = r.got('n').filter((n) => (n as number) >= 9);
      expect(after, `${name}: ${r.describe()}`).toEqual([9, 10]);
    }
  });
});

describe('attack: one credential, two resumes at once on two instances', () => {
  it('exactly one of them gets the session; the other is a fresh session; the winner stays', async () => {
    const p = prefix();
    const a = await hub(p);
    const b = await hub(p);
    const owner = await client(a.url, 'ann', ['lobby']);
    const id = owner.clientId;
    await drop(owner, a);
    a.hub.send(id, 'dm', 1);
    const twin = owner.fork();
    raws.push(twin);
    const [w1, w2] = await Promise.all([owner.connect(a.url), twin.connect(b.url)]);
    const won = [w1, w2].filter((w) => w.data.recovery.recovered === true);
    expect(won.length).toBe(1);
    const loser = [w1, w2].find((w) => w.data.recovery.recovered !== true)!;
    expect(loser.data.clientId).not.toBe(id);
    const winner = w1.data.recovery.recovered === true ? owner : twin;
    await waitFor(() => winner.got('dm').length === 1);
    await sleep(300);
    expect(winner.serverCloses().length, winner.describe()).toBe(0);
    a.hub.send(id, 'dm', 2);
    b.hub.send(id, 'dm', 3);
    await waitFor(() => winner.got('dm').length === 3);
    expect(winner.got('dm')).toEqual([1, 2, 3]);
    const other = winner === owner ? twin : owner;
    expect(other.got('dm')).toEqual([]);
  });
});

describe('attack: sendToUser across a subscriber kill, the user on two instances', () => {
  it('every connection of the user gets every message or is told', async () => {
    captureLogs(OUTAGE, FAULT_LINES);
    const p = prefix();
    const a = await hub(p);
    const b = await hub(p);
    const onA = (await client(a.url, 'u')).autoResume(a.url);
    const onB = (await client(b.url, 'u')).autoResume(b.url);
    a.hub.sendToUser('u', 'dm', 0);
    await waitFor(() => onA.got('dm').length === 1 && onB.got('dm').length === 1);
    const since = performance.now();
    // Kill every subscriber connection (both instances), publish from A while they are away.
    await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (const i of range(1, 20)) {
      a.hub.sendToUser('u', 'dm', i);
      if (i % 5 === 0) await sleep(20);
    }
    await settle(
      () => [onA, onB].every((r) => r.got('dm').length >= 21 || r.toldLoss(since, 'user:u')),
      3_000,
    );
    if (process.env.SHOW_FIGURES) {
      for (const r of [onA, onB])
        console.log(`[figures] sendToUser blip: ${r.describe(3)}; told=${r.toldLoss(since)}`);
    }
    for (const [name, r] of [
      ['on A', onA],
      ['on B', onB],
    ] as const) {
      expect(
        invariantProblems(r, { stream: 'user:u', event: 'dm', expected: range(1, 20), since }),
        name,
      ).toEqual([]);
    }
  });
});

describe('attack: historySize, the exact edge', () => {
  for (const [missed, recovered] of [
    [5, true],
    [6, false],
  ] as const) {
    it(`historySize 5, ${missed} missed: recovered ${recovered}`, async () => {
      const p = prefix();
      const a = await hub(p, { recovery: { historySize: 5 } });
      const r = await client(a.url, 'h', ['r']);
      a.hub.broadcast('n', 0, { rooms: 'r' });
      await waitFor(() => r.got('n').length === 1);
      await drop(r, a);
      for (const i of range(1, missed)) a.hub.broadcast('n', i, { rooms: 'r' });
      await sleep(100);
      const w = await r.connect(a.url);
      expect(w.data.recovery.streams['room:r'].recovered).toBe(recovered);
      if (recovered) {
        await waitFor(() => r.got('n').length === 1 + missed);
        expect(r.got('n')).toEqual(range(0, missed));
      }
    });
  }
});

describe('attack: resumes during a broadcast storm from another instance', () => {
  it('each resume is exact: every message once, in order, or told', async () => {
    captureLogs(FAULT_LINES);
    const p = prefix();
    const a = await hub(p);
    const b = await hub(p);
    const cs: Recovering[] = [];
    for (const i of range(1, 6))
      cs.push((await client(a.url, `s${i}`, ['storm'])).autoResume(a.url));
    const since = performance.now();
    let n = 0;
    const state = { running: true };
    const storm = (async () => {
      while (state.running) {
        for (let k = 0; k < 20; k++) {
          n++;
          b.hub.broadcast('t', n, { rooms: 'storm' });
          b.hub.broadcast('g', n);
        }
        await sleep(2);
      }
    })();
    // Each client drops and resumes three times while the storm goes on, on either instance.
    for (let round = 0; round < 3; round++) {
      await sleep(60);
      await Promise.all(
        cs.map(async (c, i) => {
          await drop(c, (round + i) % 2 === 0 ? a : b).catch(() => undefined);
          await sleep(10 + 7 * i);
          await c.connect(i % 2 === 0 ? b.url : a.url);
        }),
      );
    }
    await sleep(100);
    state.running = false;
    await storm;
    const total = n;
    await settle(
      () => cs.every((c) => c.got('t').length >= total && c.got('g').length >= total),
      5_000,
    );
    for (const [i, c] of cs.entries()) {
      const problems = [
        ...invariantProblems(c, {
          stream: 'room:storm',
          event: 't',
          expected: range(1, total),
          since,
        }),
        ...invariantProblems(c, { stream: 'all', event: 'g', expected: range(1, total), since }),
      ];
      expect(problems, `client s${i + 1} (${total} messages per stream)`).toEqual([]);
    }
    if (process.env.SHOW_FIGURES) {
      const told = cs.filter((c) => c.toldLoss(since)).length;
      console.log(
        `[figures] storm: ${total} messages per stream, ${told}/6 clients told of a loss`,
      );
      for (const c of cs) console.log(`[figures] ${c.describe(2)}`);
    }
  }, 30_000);
});

describe('attack: HubService.leave while Redis is away', () => {
  it('the room the server took the client out of does not come back on its next resume', async () => {
    captureLogs(OUTAGE, FAULT_LINES);
    const gate = await startTcpProxy(redis.port);
    gates.push(gate);
    const p = prefix();
    // Clients may not join 'vip' themselves: only the server puts them there.
    const a = await hub(p, { authorizeJoin: ({ room }) => room !== 'vip' }, gate.url);
    const connected = () =>
      (a.hub.stats().adapter as { connected?: boolean } | undefined)?.connected === true;
    const c = await client(a.url, 'kicked');
    const id = c.clientId;
    expect(a.hub.join(id, 'vip')).toBe(true);
    const roomsKey = `{${p}:client:${id}}:r`;
    // `0` (joined by the server), then where it started in the room's stream.
    await waitFor(async () => (await probe.hget(roomsKey, 'vip'))?.startsWith('0 ') === true);
    a.hub.broadcast('v', 1, { rooms: 'vip' });
    // (The client is told of the server-side join by an unsolicited `joined` with the position.)
    await waitFor(() => c.pushes.some((f) => f.event === 'v'));
    gate.refuse(true);
    gate.cut();
    await waitFor(() => !connected(), 5_000);
    expect(a.hub.leave(id, 'vip')).toBe(true); // kicked out while Redis is away
    expect(a.hub.roomsOf(id)).toEqual([]);
    gate.refuse(false);
    await waitFor(connected, 5_000);
    await sleep(300);
    const recorded = await probe.hget(roomsKey, 'vip');

    // The client follows the protocol: the unsolicited `left` (sent while Redis was away) told it.
    await drop(c, a);
    a.hub.broadcast('v', 2, { rooms: 'vip' });
    const w = await c.connect(a.url);
    expect(w.data.clientId).toBe(id);
    a.hub.broadcast('v', 3, { rooms: 'vip' });
    await sleep(300);
    const reached = c.pushes.filter((f) => f.event === 'v').map((f) => f.data);
    expect(
      a.hub.roomsOf(id),
      `session still records vip: ${String(recorded)}; vip frames that reached the socket ${JSON.stringify(reached)}`,
    ).toEqual([]);
    expect(reached).toEqual([1]);
  });
});

describe('attack: a client leave while Redis is away', () => {
  it('the room does not come back on the next resume, on this instance or another', async () => {
    captureLogs(OUTAGE, FAULT_LINES);
    const gate = await startTcpProxy(redis.port);
    gates.push(gate);
    const p = prefix();
    const a = await hub(p, {}, gate.url);
    const b = await hub(p);
    const connected = () =>
      (a.hub.stats().adapter as { connected?: boolean } | undefined)?.connected === true;
    const c = await client(a.url, 'leaver', ['r', 'keep']);
    const id = c.clientId;
    b.hub.broadcast('m', 1, { rooms: 'r' });
    await waitFor(() => c.got('m').length === 1);

    gate.refuse(true);

    gate.cut();
    await waitFor(() => !connected(), 5_000);
    const reply = await c.leave('r');
    expect(reply.event).toBe('left');
    expect(a.hub.roomsOf(id)).toEqual(['keep']);
    gate.refuse(false);
    await waitFor(connected, 5_000);
    await sleep(200);

    let k = 0;
    for (const target of [a, b]) {
      await drop(c, a); // connected to a both times (the first resume is on a)
      const w = await c.connect(target.url);
      expect(w.data.clientId).toBe(id);
      expect(Object.keys(w.data.recovery.streams)).not.toContain('room:r');
      expect(target.hub.roomsOf(id)).toEqual(['keep']);
      b.hub.broadcast('m', 2, { rooms: 'r' });
      b.hub.broadcast('k', ++k, { rooms: 'keep' });
      await waitFor(() => c.got('k').includes(k));
      await sleep(100);
      expect(c.pushes.filter((f) => f.event === 'm').map((f) => f.data)).toEqual([1]);
    }
  });
});
