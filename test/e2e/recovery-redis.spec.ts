import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WS_HUB_ADAPTER, type WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { RedisHubAdapter } from '../../src/ws-hub/redis/index.js';
import type { HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor, type Frame } from '../helpers/client.js';
import { ensureLibraryBuilt, spawnHubInstance, type HubInstance } from '../helpers/hub-instance.js';
import { captureLogs } from '../helpers/logs.js';
import type { Recovering } from '../helpers/recovering-client.js';
import { RecoveringHubs } from '../helpers/recovering-hubs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Message recovery across a Redis-backed cluster: a client resumes on any instance, including
 * after its own was killed; what cannot be recovered says so (`recovered: false`).
 */

const TIMING = { heartbeatIntervalMs: 200, instanceTimeoutMs: 1_000, commandTimeoutMs: 500 };
const OUTAGE = /^Redis unavailable|^Redis connection to .* restored/;

let redis: RedisServer;
const recovering = new RecoveringHubs();
const { client, drop } = recovering;
const children: HubInstance[] = [];
const gates: TcpProxy[] = [];
const plains: TestClient[] = [];

beforeAll(async () => {
  ensureLibraryBuilt();
  redis = await startRedisServer();
}, 60_000);

afterAll(async () => {
  await redis?.stop();
  if (figures.length && process.env.SHOW_FIGURES) console.log(figures.join('\n'));
});

afterEach(async () => {
  for (const c of plains.splice(0)) c.terminate();
  for (const c of children.splice(0)) c.kill();
  await recovering.close();
  await Promise.all(gates.splice(0).map((g) => g.close()));
});

const prefix = () => `rec-${randomBytes(4).toString('hex')}`;
/** How long the clients of the killed instance wait before reconnecting. */
const RECONNECT_DELAY_MS = 250;
/** Measured figures, printed at the end (the report quotes them). */
const figures: string[] = [];

/** An in-process hub with recovery on Redis; tokens are user ids. */
function hub(
  keyPrefix: string,
  recovery: WsHubModuleOptions['recovery'] = true,
  url = redis.url,
  commandTimeoutMs = TIMING.commandTimeoutMs,
): Promise<HubApp> {
  return recovering.hub({ recovery, redis: { url, keyPrefix, ...TIMING, commandTimeoutMs } });
}

const adapterOf = (app: HubApp) => app.app.get(WS_HUB_ADAPTER) as RedisHubAdapter;

const pushed = (r: Recovering, event: string) =>
  r.pushes.filter((f) => f.event === event).map((f) => f.data);

describe('recovery on Redis: SIGKILL of one of three instances', () => {
  it('its clients resume on the survivors: zero lost, zero duplicated, per-stream order kept', async () => {
    const keyPrefix = prefix();
    const recovery = { historySize: 5_000, historyTtlMs: 60_000, sessionTtlMs: 30_000 };
    // A publish Redis answers later than commandTimeoutMs counts as lost (recovered: false):
    // generous here, where three hubs, Redis and the clients share two cores.
    const p = await hub(keyPrefix, recovery, redis.url, 5_000);
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: keyPrefix,
      HEARTBEAT_MS: '200',
      TIMEOUT_MS: '1000',
      RECOVERY: 'on',
      HISTORY_SIZE: String(recovery.historySize),
      HISTORY_TTL_MS: String(recovery.historyTtlMs),
      SESSION_TTL_MS: String(recovery.sessionTtlMs),
    };
    const k = await spawnHubInstance(env);
    children.push(k);
    const s = await spawnHubInstance(env);
    children.push(s);

    const plan: [url: string, rooms: string[]][] = [
      [k.url, ['r1']],
      [k.url, ['r2']],
      [k.url, ['r1', 'r2']],
      [k.url, []],
      [k.url, ['r2', 'r1']],
      [k.url, ['r1']],
      [s.url, ['r1', 'r2']],
      [s.url, []],
      [p.url, ['r2']],
      [p.url, []],
    ];
    const cs: Recovering[] = [];
    for (const [i, [url, rooms]] of plan.entries()) cs.push(await client(url, `u${i}`, rooms));
    const onK = cs.slice(0, 6);

    // What was published, in order: [event, n, rooms | user | client id]
    const sent: { event: string; n: number; to?: string[]; user?: string; id?: string }[] = [];
    let n = 0;
    const publishOne = (): void => {
      n++;
      p.hub.broadcast('b', n);
      sent.push({ event: 'b', n });
      const to = [['r1'], ['r2'], ['r1', 'r2']][n % 3];
      p.hub.broadcast('r', n, { rooms: to });
      sent.push({ event: 'r', n, to });
      if (n % 5 === 0) {
        const user = `u${n % 10}`;
        p.hub.sendToUser(user, 'u', n);
        sent.push({ event: 'u', n, user });
      }
      if (n % 7 === 0) {
        const target = onK[n % 6];
        p.hub.send(target.clientId, 'd', n);
        sent.push({ event: 'd', n, id: target.clientId });
      }
    };
    const timer = setInterval(publishOne, 4);
    try {
      await sleep(800);
      const ids = onK.map((r) => r.clientId);
      k.kill('SIGKILL');
      const killedAt = performance.now();
      const nAtKill = n;
      await Promise.all(onK.map((r) => r.c.closed(3_000)));
      await sleep(RECONNECT_DELAY_MS); // a client's reconnect backoff: messages pile up meanwhile
      // each reconnects, alternately to the two survivors
      const reconnectAt = performance.now();
      const welcomes = await Promise.all(
        onK.map((r, i) => r.connect(i % 2 ? s.url : p.url, `u${i}`)),
      );
      const now = performance.now();
      const stats = JSON.stringify(adapterOf(p).stats());
      for (const [i, w] of welcomes.entries()) {
        expect(w.data.clientId).toBe(ids[i]);
        expect(w.data.recovery, `client ${i}; publisher ${stats}`).toMatchObject({
          recovered: true,
        });
      }
      figures.push(
        `SIGKILL → 6 clients resumed (recovered: true): ${(now - killedAt).toFixed(0)} ms ` +
          `(reconnect → welcome ${(now - reconnectAt).toFixed(0)} ms), ` +
          `${n - nAtKill} broadcasts published meanwhile`,
      );
      await sleep(600);
    } finally {
      clearInterval(timer);
    }
    p.hub.broadcast('end');
    await waitFor(() => cs.every((r) => r.pushes.some((f) => f.event === 'end')), 10_000);

    for (const [i, r] of cs.entries()) {
      const rooms = plan[i][1];
      const user = `u${i}`;
      const expected = (event: string, keep: (m: (typeof sent)[number]) => boolean) =>
        sent.filter((m) => m.event === event && keep(m)).map((m) => m.n);
      const got = (event: string, keep: (f: Frame) => boolean = () => true) =>
        r.pushes.filter((f) => f.event === event && keep(f)).map((f) => f.data as number);
      const roomOf = (f: Frame) => Object.keys((f as { pos?: object }).pos ?? {});
      expect(got('b'), `client ${i}: broadcasts`).toEqual(expected('b', () => true));
      for (const room of rooms) {
        expect(
          got('r', (f) => roomOf(f).includes(`room:${room}`)),
          `client ${i}: room ${room}`,
        ).toEqual(expected('r', (m) => m.to!.includes(room)));
      }
      expect(got('r'), `client ${i}: room messages once`).toEqual(
        expected('r', (m) => m.to!.some((x) => rooms.includes(x))),
      );
      expect(got('u'), `client ${i}: user`).toEqual(expected('u', (m) => m.user === user));
      expect(got('d'), `client ${i}: direct`).toEqual(expected('d', (m) => m.id === r.clientId));
    }
    expect(sent.filter((m) => m.event === 'b').length).toBeGreaterThan(100);
  }, 60_000);
});

describe('recovery on Redis: a resume elsewhere', () => {
  it('restores the client id on another instance; send and disconnect reach it there', async () => {
    const keyPrefix = prefix();
    const [a, b, c] = [await hub(keyPrefix), await hub(keyPrefix), await hub(keyPrefix)];
    const r = await client(a.url, 'ann', ['lobby']);
    const id = r.clientId;
    c.hub.send(id, 'dm', 1);
    await waitFor(() => pushed(r, 'dm').length === 1);
    await drop(r, a);
    expect(c.hub.send(id, 'dm', 2)).toBe(true); // recorded in its stream while it is away
    c.hub.broadcast('chat', 'x', { rooms: 'lobby' });
    const welcome = await r.connect(b.url, 'ann');
    expect(welcome.data.clientId).toBe(id);
    expect(welcome.data.recovery.recovered).toBe(true);
    expect(b.hub.roomsOf(id)).toEqual(['lobby']);
    await waitFor(() => pushed(r, 'chat').length === 1);
    expect(pushed(r, 'dm')).toEqual([1, 2]);
    expect(c.hub.send(id, 'dm', 3)).toBe(true);
    await waitFor(() => pushed(r, 'dm').length === 3); // two publishers: Redis orders them
    expect(b.hub.send(id, 'dm', 4)).toBe(true);
    await waitFor(() => pushed(r, 'dm').length === 4);
    expect(pushed(r, 'dm')).toEqual([1, 2, 3, 4]);
    expect(c.hub.disconnect(id, 4000, 'bye')).toBe(true);
    expect(await r.c.closed()).toBe(4000);
  });
});

describe('recovery on Redis: what cannot be recovered says so', () => {
  it('history trimmed past the client’s offset: recovered false, same session', async () => {
    const keyPrefix = prefix();
    const recovery = { historySize: 5 };
    const [a, b] = [await hub(keyPrefix, recovery), await hub(keyPrefix, recovery)];
    const r = await client(a.url, 'ann');
    a.hub.broadcast('news', 0);
    await waitFor(() => r.pushes.length === 1);
    await drop(r, a);
    for (let i = 1; i <= 10; i++) b.hub.broadcast('news', i);
    await sleep(100);
    const welcome = await r.connect(b.url, 'ann');
    expect(welcome.data.recovery).toMatchObject({
      recovered: false,
      streams: { all: { offset: 11, recovered: false } },
    });
    expect(welcome.data.clientId).not.toBe(''); // the session itself was resumed
    b.hub.broadcast('news', 11);
    await waitFor(() => pushed(r, 'news').length === 2);
    expect(pushed(r, 'news')).toEqual([0, 11]); // nothing replayed from an incomplete stream
  });

  it('Redis restarted empty: every epoch is new, sessions are gone: recovered false', async () => {
    const logs = captureLogs(OUTAGE, /recovering client .* failed/);
    const keyPrefix = prefix();
    const [a, b] = [await hub(keyPrefix), await hub(keyPrefix)];
    const r = await client(a.url, 'ann');
    a.hub.broadcast('news', 1);
    await waitFor(() => r.pushes.length === 1);
    const before = r.positions.get('all')!;
    await drop(r, a);
    await redis.restart();
    await waitFor(() => adapterOf(a).stats().connected && adapterOf(b).stats().connected, 10_000);
    b.hub.broadcast('news', 2);
    await sleep(100);
    const welcome = await r.connect(b.url, 'ann');
    expect(welcome.data.recovery.recovered).toBe(false);
    expect(welcome.data.recovery.streams.all.epoch).not.toBe(before.epoch);
    expect(logs.errors()).toEqual([]);
  });

  it('stream keys lost (expired or evicted) with the session intact: recovered false for that stream', async () => {
    const keyPrefix = prefix();
    const [a, b] = [await hub(keyPrefix), await hub(keyPrefix)];
    const r = await client(a.url, 'ann', ['lobby']);
    a.hub.broadcast('chat', 1, { rooms: 'lobby' });
    a.hub.broadcast('news', 1);
    await waitFor(() => r.pushes.length === 2);
    await drop(r, a);
    const probe = new Redis(redis.url);
    const channel = adapterOf(a).channels().room('lobby');
    await probe.del(`${channel}:m`, `${channel}:h`);
    probe.disconnect();
    a.hub.broadcast('chat', 2, { rooms: 'lobby' });
    a.hub.broadcast('news', 2);
    await sleep(100);
    const welcome = await r.connect(b.url, 'ann');
    expect(welcome.data.recovery).toMatchObject({
      recovered: false,
      streams: { all: { recovered: true }, 'room:lobby': { offset: 1, recovered: false } },
    });
    await waitFor(() => pushed(r, 'news').length === 2);
    expect(pushed(r, 'news')).toEqual([1, 2]);
  });

  it('session expired: recovered false, a fresh session', async () => {
    const keyPrefix = prefix();
    const recovery = { sessionTtlMs: 500, historyTtlMs: 60_000 };
    const [a, b] = [await hub(keyPrefix, recovery), await hub(keyPrefix, recovery)];
    const r = await client(a.url, 'ann');
    const id = r.clientId;
    await drop(r, a);
    await sleep(900);
    const welcome = await r.connect(b.url, 'ann');
    expect(welcome.data.recovery.recovered).toBe(false);
    expect(welcome.data.clientId).not.toBe(id);
  });

  it('Redis away for the publishing instance: its recovering clients are told, never given an unpositioned message; a resume across it is not recovered', async () => {
    const logs = captureLogs(OUTAGE, /missed messages/);
    const keyPrefix = prefix();
    const gate = await startTcpProxy(redis.port);
    gates.push(gate);
    const a = await hub(keyPrefix, true, gate.url);
    const b = await hub(keyPrefix);
    const ra = await client(a.url, 'ann');
    const rb = await client(b.url, 'bob');
    const rc = await client(a.url, 'cid');
    const plain = await TestClient.welcomed(a.url + '?token=pat');
    plains.push(plain);
    a.hub.broadcast('news', 1);
    await waitFor(() => [ra, rb, rc].every((r) => r.pushes.length === 1));
    // bob and cid are away (a network switch) while Redis is away for instance a
    await drop(rb, b);
    await drop(rc, a);

    gate.refuse(true);

    gate.cut();
    await waitFor(() => !adapterOf(a).stats().connected);
    const from = ra.c.frames.length;
    a.hub.broadcast('news', 2);
    // Plain clients get it at once, as without recovery; a recovering client gets nothing
    // without a position (it could not tell whether it would come again, positioned).
    expect(await plain.next((f) => f.event === 'news' && f.data === 2)).toEqual({
      event: 'news',
      data: 2,
    });
    await sleep(200);
    expect(ra.c.frames.slice(from).filter((f) => f.event === 'news')).toEqual([]);
    gate.refuse(false);
    await waitFor(() => adapterOf(a).stats().gapsMarked === 1, 5_000);
    // Message 2's offset went to a tombstone: message 3 follows a gap, so the live recovering
    // client is told (1012), and its resume says the stream was not recovered.
    a.hub.broadcast('news', 3);
    expect(await ra.c.closed()).toBe(1012);
    expect(ra.c.closeReason).toBe('resume required');
    const wa = await ra.connect(a.url, 'ann');
    expect(wa.data.recovery).toMatchObject({ recovered: false, streams: { all: { offset: 3 } } });

    // message 2 is in no history: a resume across it, on either instance, says so
    const wb = await rb.connect(a.url, 'bob');
    expect(wb.data.recovery).toMatchObject({ recovered: false, streams: { all: { offset: 3 } } });
    const wc = await rc.connect(b.url, 'cid');
    expect(wc.data.recovery.recovered).toBe(false);
    // what could be recovered was not replayed across the gap
    expect(pushed(rc, 'news')).toEqual([1]);
    expect(logs.warnings().length).toBeGreaterThan(0);
  });
});
