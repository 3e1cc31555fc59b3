import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HubHealthIndicator, HubMetrics, WsHubModule } from '../../src/ws-hub/index.js';
import { startApp, startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** Reads one sample of the exposition text: `name{labels} value`, labels matched as a subset. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{\s]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => {
          const [k, v] = kv.split('=');
          return [k, JSON.parse(v)];
        }),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('Prometheus metrics', () => {
  let h: HubApp | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await h?.close();
    h = undefined;
  });

  it('counts connections, frames, errors, deliveries and closes, on the given registry', async () => {
    const registry = new Registry();
    h = await startHub({ metrics: { registry }, rateLimit: false });
    const metrics = h.app.get(HubMetrics);
    expect(metrics.registry).toBe(registry);
    const a = await TestClient.welcomed(h.url);
    const b = await TestClient.welcomed(h.url);
    clients.push(a, b);
    await a.request({ event: 'message', id: 1, data: 'x' });
    await a.request({ event: 'join', id: 2, data: { room: 'r' } });
    a.send({ event: 'nope', id: 3 });
    a.send('{bad');
    await a.next((f) => f.event === 'error' && f.data.code === 'BAD_JSON');
    h.hub.broadcast('news', 1);
    await waitFor(() => b.events('news').length === 1);
    await b.close();
    await waitFor(() => h!.hub.online === 1);
    const text = await metrics.metrics();
    const instance = h.hub.instanceId;
    expect(sample(text, 'ws_hub_connections', { instance })).toBe(1);
    expect(sample(text, 'ws_hub_connections_opened_total')).toBe(2);
    expect(sample(text, 'ws_hub_connections_closed_total', { reason: 'client-closed' })).toBe(1);
    expect(sample(text, 'ws_hub_frames_received_total', { event: 'message' })).toBe(1);
    expect(sample(text, 'ws_hub_frames_received_total', { event: 'join' })).toBe(1);
    expect(sample(text, 'ws_hub_frames_received_total', { event: 'unhandled' })).toBe(1);
    expect(sample(text, 'ws_hub_frames_received_total', { event: 'invalid' })).toBe(1);
    expect(sample(text, 'ws_hub_errors_total', { code: 'UNKNOWN_EVENT' })).toBe(1);
    expect(sample(text, 'ws_hub_errors_total', { code: 'BAD_JSON' })).toBe(1);
    // 2 welcomes + ack + joined + 2 errors + 2 broadcast deliveries
    expect(sample(text, 'ws_hub_messages_delivered_total')).toBe(8);
    expect(sample(text, 'ws_hub_rooms')).toBe(1);
    expect(sample(text, 'ws_hub_broadcast_fanout_seconds_count')).toBe(1);
    expect(sample(text, 'ws_hub_buffered_bytes')).toBe(0);
    // The delay beyond the 20 ms sampling interval: a test process is mostly idle.
    const loopP99 = sample(text, 'ws_hub_event_loop_delay_seconds', { quantile: '0.99' });
    expect(loopP99).toBeGreaterThanOrEqual(0);
    expect(loopP99).toBeLessThan(0.5);
    expect(text).toMatch(/# HELP ws_hub_messages_dropped_total /);
    expect(text).not.toMatch(/ws_hub_adapter_/); // no cluster adapter
  });

  it('counts refused handshakes by status and heartbeat evictions', async () => {
    const registry = new Registry();
    h = await startHub({
      metrics: { registry, prefix: 'hub_' },
      authenticate: (_r, { token }) => (token === 'ok' ? { userId: 'u' } : null),
      pingIntervalMs: 100,
      maxMissedPongs: 1,
    });
    await expect(TestClient.connect(h.url)).rejects.toMatchObject({ status: 401 });
    const silent = await TestClient.welcomed(h.url + '?token=ok', { autoPong: false });
    clients.push(silent);
    await waitFor(() => h!.hub.online === 0, 3000);
    const text = await registry.metrics();
    expect(sample(text, 'hub_handshakes_rejected_total', { status: '401' })).toBe(1);
    expect(sample(text, 'hub_heartbeat_evictions_total')).toBe(1);
    expect(sample(text, 'hub_users')).toBe(0);
  });

  it('removes its metrics from the registry on shutdown, so an app rebuilt in-process registers again', async () => {
    const registry = new Registry();
    h = await startHub({ metrics: { registry } });
    await h.close();
    expect(await registry.metrics()).toBe('\n');
    h = await startHub({ metrics: { registry } });
    expect(await registry.metrics()).toMatch(/ws_hub_connections\{/);
  });

  it('is off by default, and HubMetrics is then null', async () => {
    h = await startHub();
    expect(h.app.get(HubMetrics)).toBeNull();
  });
});

describe('health indicator', () => {
  let redis: RedisServer;
  let h: HubApp | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('is up on one instance and down once shutdown has begun', async () => {
    h = await startHub();
    const health = h.app.get(HubHealthIndicator);
    expect(health.isHealthy()).toEqual({
      'ws-hub': { status: 'up', online: 0, instance: h.hub.instanceId },
    });
    // Watch the status while the app shuts down (a connected client makes the drain last).
    const c = await TestClient.welcomed(h.url);
    const seen = new Set<string>();
    const state = { done: false };
    const closing = h.app.close().then(() => (state.done = true));
    while (!state.done) {
      seen.add(JSON.stringify(health.isHealthy('hub')));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await closing;
    expect([...seen].map((r) => JSON.parse(r).hub.status)).toContain('down');
    expect([...seen].map((r) => JSON.parse(r))).toContainEqual({
      hub: {
        status: 'down',
        online: expect.any(Number),
        instance: h.hub.instanceId,
        message: 'shutting down',
      },
    });
    c.terminate();
  });

  it('is degraded, not down, while Redis is away, and up again when it is back', async () => {
    const logs = captureLogs(/Redis unavailable|restored|Redis adapter connected/);
    h = await startApp(
      WsHubModule.forRoot({
        redis: { url: redis.url, heartbeatIntervalMs: 200, instanceTimeoutMs: 600 },
      }),
    );
    const health = h.app.get(HubHealthIndicator);
    expect(health.isHealthy()['ws-hub']).toMatchObject({ status: 'up', adapter: 'connected' });
    await redis.stop('SIGKILL');
    await waitFor(() => health.isHealthy()['ws-hub'].status === 'degraded', 5000);
    expect(health.isHealthy()['ws-hub']).toMatchObject({ adapter: 'disconnected' });
    await redis.restart();
    await waitFor(() => health.isHealthy()['ws-hub'].status === 'up', 8000);
    expect(logs.warnings()).toEqual([expect.stringContaining('Redis unavailable')]);
  });
});

describe('operator logs', () => {
  it('logs one startup line with the effective options and one shutdown summary, nothing per message', async () => {
    const logs = captureLogs(/hub ready|hub stopped/);
    const h = await startHub({ maxPayloadBytes: 1024, authenticate: () => ({ userId: 'u' }) });
    const c = await TestClient.welcomed(h.url + '?token=secret-token');
    for (let i = 0; i < 5; i++) await c.request({ event: 'message', id: i, data: i });
    h.hub.broadcast('x', 1);
    await h.close();
    const lines = logs.entries.filter((e) => e.context === 'WsHub').map((e) => e.message);
    expect(lines).toEqual([
      'hub ready on /ws, ping 25000 ms x 2, max payload 1 KiB, rate limit 100/s burst 200, ' +
        'slow consumer close past 1 MiB, connections unlimited (per IP unlimited), ' +
        'handshakes unlimited/s, drain 5000 ms, ' +
        'auth on (refusals as auto), origins any, adapter InMemoryHubAdapter, metrics off',
      expect.stringMatching(
        /^hub stopped: 1 clients closed with 1012 over 0 ms, 1 answered, 0 cut; \d+ ms$/,
      ),
    ]);
    expect(JSON.stringify(logs.entries)).not.toContain('secret-token');
  });
});
