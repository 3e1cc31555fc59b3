import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRedisHubAdapter,
  type RedisHubAdapter,
  type RedisHubAdapterOptions,
} from '../../src/ws-hub/redis/index.js';
import { conformanceHubOptions } from '../conformance/hub-adapter.conformance.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { captureLogs, type LogCapture } from '../helpers/logs.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Redis faults: the hub keeps serving its own clients, never hangs nor throws into callers,
 * logs an outage once, and resumes cross-instance delivery by itself when Redis is back.
 */

const COMMAND_TIMEOUT_MS = 300;
/** Documented recovery bound asserted here (the adapter's default reconnect cap is 1 s). */
const RECOVERY_BOUND_MS = 5_000;

interface Instance {
  app: HubApp;
  adapter: RedisHubAdapter;
}

let apps: HubApp[] = [];
let clients: TestClient[] = [];
let servers: RedisServer[] = [];

afterEach(async () => {
  for (const c of clients) c.terminate();
  clients = [];
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
  for (const s of servers) s.signal('SIGCONT');
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  servers = [];
});

async function instance(
  url: string,
  keyPrefix: string,
  extra: Partial<RedisHubAdapterOptions> = {},
): Promise<Instance> {
  const adapter = createRedisHubAdapter({
    url,
    keyPrefix,
    heartbeatIntervalMs: 200,
    instanceTimeoutMs: 1_000,
    initTimeoutMs: 500,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    ...extra,
  });
  const app = await startHub({ ...conformanceHubOptions, adapter });
  apps.push(app);
  return { app, adapter };
}

async function client(app: HubApp, user?: string): Promise<TestClient & { id: string }> {
  const c = await TestClient.welcomed(user ? `${app.url}?token=${user}` : app.url);
  clients.push(c);
  return c;
}

/** Publishes probes from `from` until `to` receives one; returns how long it took. */
async function timeUntilDelivered(
  from: HubApp,
  to: TestClient,
  timeoutMs = 10_000,
): Promise<number> {
  const t0 = performance.now();
  const start = to.frames.length;
  let k = 0;
  const timer = setInterval(() => from.hub.broadcast('probe', { k: k++ }), 20);
  try {
    await to.next((f) => f.event === 'probe', timeoutMs, start);
  } finally {
    clearInterval(timer);
  }
  return performance.now() - t0;
}

/** The outage warning each instance logs once per outage. */
const OUTAGE = /^Redis unavailable \(.*\); cross-instance delivery is paused/;

function warnings(logs: LogCapture, pattern: RegExp): string[] {
  return logs.warnings().filter((m) => pattern.test(m));
}

const prefix = () => `faults-${randomBytes(4).toString('hex')}`;

describe('Redis faults', () => {
  it('keeps local delivery while Redis is down and resumes cross-instance delivery after a restart', async () => {
    const logs = captureLogs(OUTAGE);
    const server = await startRedisServer();
    servers.push(server);
    const p = prefix();
    const a = await instance(server.url, p);
    const b = await instance(server.url, p);
    const a1 = await client(a.app, 'alice');
    const b1 = await client(b.app, 'bob');
    a.app.hub.broadcast('pre');
    await b1.next((f) => f.event === 'pre');

    await server.stop('SIGKILL');
    await waitFor(() => !a.adapter.stats().connected && !b.adapter.stats().connected);

    // Local delivery goes on; calls neither throw nor wait for Redis.
    const t = performance.now();
    for (let k = 0; k < 100; k++) expect(a.app.hub.broadcast('during', { k })).toBe(1);
    expect(a.app.hub.send(b1.id, 'dm')).toBe(true);
    expect(a.app.hub.sendToUser('alice', 'to-alice')).toBe(1);
    expect(a.app.hub.disconnectUser('nobody-here')).toBe(0);
    // Synchronous calls: a bound well under COMMAND_TIMEOUT_MS, loose enough for a loaded CI.
    expect(performance.now() - t).toBeLessThan(COMMAND_TIMEOUT_MS);
    await a1.next((f) => f.event === 'during' && f.data.k === 99);
    await a1.next((f) => f.event === 'to-alice');
    expect(a1.events('during')).toHaveLength(100);

    // Presence answers at once, with this instance alone.
    const q = performance.now();
    expect(await a.app.hub.clusterOnline()).toBe(1);
    expect((await a.app.hub.instances()).map((i) => i.id)).toEqual([a.app.hub.instanceId]);
    expect(performance.now() - q).toBeLessThan(COMMAND_TIMEOUT_MS + 200);

    // A room joined during the outage must work once Redis is back.
    expect(await b1.request({ event: 'join', id: 1, data: { room: 'late' } })).toEqual({
      event: 'joined',
      id: 1,
      data: { room: 'late' },
    });

    await sleep(1_200); // several reconnection attempts fail meanwhile
    expect(a.adapter.stats().publishFailures).toBeGreaterThanOrEqual(102);
    expect(b1.events('during')).toHaveLength(0);
    expect(b1.events('dm')).toHaveLength(0);
    // One warning per instance for the whole outage, however many failures.
    expect(warnings(logs, OUTAGE)).toHaveLength(2);

    await server.restart();
    const recoveryMs = await timeUntilDelivered(a.app, b1);
    console.log(
      `cross-instance delivery resumed ${Math.round(recoveryMs)} ms after Redis came back`,
    );
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);

    // Everything crosses again, in both directions, including the room joined while Redis was away.
    await b.adapter.settled();
    a.app.hub.broadcast('room-late', {}, { rooms: ['late'] });
    await b1.next((f) => f.event === 'room-late');
    await waitFor(
      async () => {
        b.app.hub.send(a1.id, 'back');
        return a1.events('back').length > 0;
      },
      RECOVERY_BOUND_MS,
      50,
    );

    // Presence re-registered.
    await waitFor(async () => (await a.app.hub.clusterOnline()) === 2, 3_000);
    expect(a.adapter.stats().reconnects).toBeGreaterThanOrEqual(2);
    expect(b.adapter.stats().reconnects).toBeGreaterThanOrEqual(2);
    await waitFor(() => a.adapter.stats().connected && b.adapter.stats().connected);
    expect(logs.messages('log').filter((m) => m.includes('restored'))).toHaveLength(2);
    expect(warnings(logs, OUTAGE)).toHaveLength(2);
    expect(logs.errors()).toEqual([]);
  });

  it('starts without Redis (bounded wait), connects in the background, never logs the password', async () => {
    const logs = captureLogs(OUTAGE);
    const password = 'pw-s3cret-do-not-log';
    const port = await freePort();
    const url = `redis://:${password}@127.0.0.1:${port}`;
    const p = prefix();

    const t = performance.now();
    const a = await instance(url, p, { initTimeoutMs: 400 });
    const b = await instance(url, p, { initTimeoutMs: 400 });
    expect(performance.now() - t).toBeLessThan(2 * (400 + 1_000));

    const a1 = await client(a.app);
    const b1 = await client(b.app);
    expect(a.app.hub.broadcast('local')).toBe(1);
    await a1.next((f) => f.event === 'local');
    expect(await a.app.hub.clusterOnline()).toBe(1);

    const server = await startRedisServer({ port, password });
    servers.push(server);
    const ms = await timeUntilDelivered(a.app, b1);
    console.log(`delivery started ${Math.round(ms)} ms after Redis first came up`);
    expect(ms).toBeLessThan(RECOVERY_BOUND_MS);
    await waitFor(async () => (await b.app.hub.clusterOnline()) === 2, 3_000);

    expect(warnings(logs, OUTAGE)).toContainEqual(expect.stringContaining(`127.0.0.1:${port}`));
    expect(logs.entries.filter((e) => e.message.includes(password))).toEqual([]);
  });

  it('answers presence within commandTimeoutMs when Redis hangs (SIGSTOP)', async () => {
    const logs = captureLogs(OUTAGE);
    const server = await startRedisServer();
    servers.push(server);
    const p = prefix();
    const a = await instance(server.url, p);
    const b = await instance(server.url, p);
    const a1 = await client(a.app);
    const b1 = await client(b.app);
    await waitFor(async () => (await a.app.hub.clusterOnline()) === 2);

    server.signal('SIGSTOP');
    try {
      const t = performance.now();
      expect(await a.app.hub.clusterOnline()).toBe(1);
      expect(performance.now() - t).toBeLessThan(COMMAND_TIMEOUT_MS + 300);
      const s = performance.now();
      expect(a.app.hub.broadcast('frozen')).toBe(1);
      expect(performance.now() - s).toBeLessThan(50);
      await a1.next((f) => f.event === 'frozen');
      expect(warnings(logs, OUTAGE)).toContainEqual(
        expect.stringContaining('(presence: no answer within'),
      );
    } finally {
      server.signal('SIGCONT');
    }
    await timeUntilDelivered(a.app, b1);
  });

  it('closes promptly while Redis is down, releasing its connections and timers', async () => {
    const logs = captureLogs(OUTAGE);
    const port = await freePort();
    const before = process.getActiveResourcesInfo();
    const a = await instance(`redis://127.0.0.1:${port}`, prefix(), { initTimeoutMs: 200 });
    await client(a.app);
    await sleep(300); // reconnection attempts under way
    expect(warnings(logs, OUTAGE)).toEqual([expect.stringContaining('ECONNREFUSED')]);
    const t = performance.now();
    await a.app.close();
    expect(performance.now() - t).toBeLessThan(1_500);
    for (const c of clients) c.terminate();
    clients = [];
    await sleep(50);
    const count = (list: string[], kind: string) => list.filter((x) => x === kind).length;
    const after = process.getActiveResourcesInfo();
    expect(count(after, 'TCPSocketWrap')).toBeLessThanOrEqual(count(before, 'TCPSocketWrap'));
    expect(count(after, 'TCPServerWrap')).toBeLessThanOrEqual(count(before, 'TCPServerWrap'));
    expect(count(after, 'Timeout')).toBeLessThanOrEqual(count(before, 'Timeout'));
  });
});
