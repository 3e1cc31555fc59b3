import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HubAdapterHost } from '../../src/ws-hub/index.js';
import { RedisHubAdapter } from '../../src/ws-hub/redis/index.js';
import { conformanceHubOptions } from '../conformance/hub-adapter.conformance.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';
import { ensureLibraryBuilt } from '../helpers/hub-instance.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Presence: the cluster's online count and instance list after connects, disconnects, a
 * graceful stop (gone at once) and a kill -9 of a child-process instance (gone within the
 * documented bound).
 */

const HEARTBEAT_MS = 200;
const TIMEOUT_MS = 1_000;
/** Scheduling and polling slack on top of the documented bounds. */
const SLACK_MS = 400;

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test/fixtures/hub-instance.mjs');

interface ChildInstance {
  child: ChildProcess;
  port: number;
  id: string;
  url: string;
  exited: Promise<void>;
}

function spawnInstance(env: Record<string, string>): Promise<ChildInstance> {
  const child = spawn(process.execPath, [fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child instance not ready within 15 s: ${err}`)),
      15_000,
    );
    child.stdout!.on('data', (d) => {
      out += d.toString();
      const m = /READY (\d+) (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), id: m[2], url: `ws://127.0.0.1:${m[1]}/ws`, exited });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child instance exited (${code}) before READY: ${err}`));
    });
  });
}

let redis: RedisServer;
let probe: Redis;
let apps: HubApp[] = [];
let clients: TestClient[] = [];
let children: ChildProcess[] = [];
let adapters: RedisHubAdapter[] = [];
let keyPrefix = '';

beforeAll(async () => {
  ensureLibraryBuilt();
  redis = await startRedisServer();
  probe = new Redis(redis.url);
}, 60_000);

afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

afterEach(async () => {
  for (const c of clients) c.terminate();
  clients = [];
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  await Promise.all([...apps.map((a) => a.close()), ...adapters.map((a) => a.close())]);
  apps = [];
  adapters = [];
});

const redisOptions = () => ({
  url: redis.url,
  keyPrefix,
  heartbeatIntervalMs: HEARTBEAT_MS,
  instanceTimeoutMs: TIMEOUT_MS,
});

async function hub(): Promise<HubApp> {
  const app = await startHub({ ...conformanceHubOptions, redis: redisOptions() });
  apps.push(app);
  return app;
}

async function client(url: string): Promise<TestClient & { id: string }> {
  const c = await TestClient.welcomed(url);
  clients.push(c);
  return c;
}

/** `id=online` of every live instance as `app` sees them, sorted by id. */
async function perInstance(app: HubApp): Promise<string> {
  return (await app.hub.instances())
    .map((i) => `${i.id}=${i.online}`)
    .sort()
    .join(' ');
}

const show = (expected: Record<string, number>): string =>
  Object.entries(expected)
    .map(([id, n]) => `${id}=${n}`)
    .sort()
    .join(' ');

describe('Redis presence', () => {
  it('reports every instance and its clients after connects and disconnects', async () => {
    keyPrefix = `presence-${randomBytes(4).toString('hex')}`;
    const [a, b, c] = [await hub(), await hub(), await hub()];
    const a1 = await client(a.url);
    await client(a.url);
    await client(b.url);
    const expected = { [a.hub.instanceId]: 2, [b.hub.instanceId]: 1, [c.hub.instanceId]: 0 };
    for (const app of [a, b, c]) {
      await waitFor(async () => (await perInstance(app)) === show(expected), 2_000);
      expect(await app.hub.clusterOnline()).toBe(3);
    }
    const info = (await c.hub.instances()).find((i) => i.id === a.hub.instanceId)!;
    expect(Date.now() - info.lastSeenAt).toBeLessThan(TIMEOUT_MS);

    await a1.close();
    expected[a.hub.instanceId] = 1;
    for (const app of [a, b, c]) {
      await waitFor(async () => (await perInstance(app)) === show(expected), 2_000);
    }
  });

  it('a gracefully stopped instance leaves presence at once', async () => {
    keyPrefix = `presence-${randomBytes(4).toString('hex')}`;
    const [a, b, c] = [await hub(), await hub(), await hub()];
    await client(a.url);
    await client(c.url);
    await client(c.url);
    await waitFor(async () => (await a.hub.clusterOnline()) === 3, 2_000);
    const gone = c.hub.instanceId;

    await c.close();
    // No waiting for a timeout: the very next read no longer has it.
    expect((await a.hub.instances()).map((i) => i.id)).not.toContain(gone);
    expect((await b.hub.instances()).map((i) => i.id).sort()).toEqual(
      [a.hub.instanceId, b.hub.instanceId].sort(),
    );
    expect(await a.hub.clusterOnline()).toBe(1);
    expect(await probe.zscore(`${keyPrefix}:instances`, gone)).toBeNull();
    expect(await probe.hget(`${keyPrefix}:online`, gone)).toBeNull();
  });

  it('a kill -9ed instance (child process) disappears within instanceTimeoutMs + heartbeatIntervalMs', async () => {
    keyPrefix = `presence-${randomBytes(4).toString('hex')}`;
    const a = await hub();
    // An adapter on its own, to watch `instanceGone` (HubService does not implement it).
    const gone: { id: string; at: number }[] = [];
    const observerHost: HubAdapterHost = {
      instanceId: `observer${randomBytes(3).toString('hex')}`,
      localOnline: 0,
      applyRemote: () => undefined,
      instanceGone: (id) => gone.push({ id, at: performance.now() }),
    };
    const observer = new RedisHubAdapter(redisOptions());
    adapters.push(observer);
    await observer.init(observerHost);

    const child = await spawnInstance({
      REDIS_URL: redis.url,
      KEY_PREFIX: keyPrefix,
      HEARTBEAT_MS: String(HEARTBEAT_MS),
      TIMEOUT_MS: String(TIMEOUT_MS),
    });
    const c1 = await client(child.url);
    await client(child.url);
    expect(c1.id.startsWith(child.id + '.')).toBe(true);
    await waitFor(async () => (await a.hub.clusterOnline()) === 2, 3_000);
    expect((await a.hub.instances()).map((i) => i.id)).toContain(child.id);
    // It is a real member of the cluster: traffic crosses both ways.
    a.hub.broadcast('from-parent');
    await c1.next((f) => f.event === 'from-parent');

    // The wait above ended right after the child's latest refresh, so this measures close to
    // the worst case (death just after a refresh).
    const closing = c1.closed();
    const t0 = performance.now();
    child.child.kill('SIGKILL');
    await child.exited;
    await closing;

    await waitFor(async () => !(await a.hub.instances()).some((i) => i.id === child.id), 5_000, 20);
    const excludedAfter = performance.now() - t0;
    expect(await a.hub.clusterOnline()).toBe(0);
    await waitFor(() => gone.some((g) => g.id === child.id), 5_000, 20);
    const prunedAfter = gone.find((g) => g.id === child.id)!.at - t0;
    expect(await probe.zscore(`${keyPrefix}:instances`, child.id)).toBeNull();
    expect(await probe.hget(`${keyPrefix}:online`, child.id)).toBeNull();
    console.log(
      `kill -9: excluded from reads after ${Math.round(excludedAfter)} ms (bound ${TIMEOUT_MS}), ` +
        `pruned + instanceGone after ${Math.round(prunedAfter)} ms (bound ${TIMEOUT_MS + HEARTBEAT_MS})`,
    );
    expect(excludedAfter).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(prunedAfter).toBeLessThan(TIMEOUT_MS + HEARTBEAT_MS + SLACK_MS);
  });
});
