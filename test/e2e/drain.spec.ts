import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import { HubHealthIndicator, type HubDisconnectedEvent } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';

/**
 * Issue 20: an instance drains before it stops. Not ready at once, handshakes refused with 503
 * and `Retry-After`, clients closed with 1012 `server restarting` in batches spread over
 * `drainMs`, and `ws-hub/client` reconnecting at once to another instance of its list.
 */

let apps: HubApp[] = [];
let hubClients: WsHubClient[] = [];
const raw: TestClient[] = [];
afterEach(async () => {
  for (const c of hubClients.splice(0)) c.close();
  for (const c of raw.splice(0)) c.terminate();
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function hub(options: Parameters<typeof startHub>[0] = {}): Promise<HubApp> {
  const h = await startHub(options);
  apps.push(h);
  return h;
}

/** A handshake's HTTP refusal: its status and `Retry-After`, or 101 when it opened. */
function handshake(url: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (request, response) => {
      response.resume();
      request.destroy();
      resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'] });
    });
    ws.once('close', () => reject(new Error('closed without an answer')));
  });
}

describe('HubService.drain()', () => {
  it('not ready at once, handshakes 503 + Retry-After: 1, clients closed with 1012 spread over drainMs', async () => {
    const h = await hub({ drainMs: 1000 });
    const clients = await Promise.all(Array.from({ length: 20 }, () => TestClient.welcomed(h.url)));
    raw.push(...clients);
    const closedAt: number[] = [];
    const codes = clients.map((c) =>
      c.closed(5000).then((code) => (closedAt.push(performance.now()), code)),
    );
    const disconnected: HubDisconnectedEvent[] = [];
    h.hub.disconnected$.subscribe((e) => disconnected.push(e));
    const health = h.app.get(HubHealthIndicator);
    expect(health.isHealthy()['ws-hub'].status).toBe('up');

    const startedAt = performance.now();
    const drained = h.hub.drain();
    expect(h.hub.draining).toBe(true);
    expect(health.isHealthy()).toEqual({
      // the first batch (of one) is closed at once
      'ws-hub': { status: 'down', message: 'draining', online: 19, instance: h.hub.instanceId },
    });
    expect(await handshake(h.url)).toEqual({ status: 503, retryAfter: '1' });

    expect(await drained).toEqual({ clients: 20, answered: 20, spreadMs: expect.any(Number) });
    expect(await Promise.all(codes)).toEqual(Array(20).fill(1012));
    expect(new Set(clients.map((c) => c.closeReason))).toEqual(new Set(['server restarting']));
    expect(disconnected.map((d) => [d.code, d.reason])).toEqual(
      Array.from({ length: 20 }, () => [1012, 'server-shutdown']),
    );
    // 20 batches of one, 50 ms apart: the first at once, the last after about 950 ms
    const offsets = closedAt.map((t) => t - startedAt).sort((a, b) => a - b);
    expect(offsets[0]).toBeLessThan(200);
    expect(offsets.at(-1)).toBeGreaterThan(850);
    expect(offsets.at(-1)).toBeLessThan(1600);
    const perTenth = new Map<number, number>();
    for (const t of offsets)
      perTenth.set(Math.floor(t / 100), (perTenth.get(Math.floor(t / 100)) ?? 0) + 1);
    expect(Math.max(...perTenth.values())).toBeLessThanOrEqual(4); // spread, not a burst
    expect(h.hub.online).toBe(0);
    // a second call gets the same result; the instance stays drained
    expect(await h.hub.drain()).toEqual(await drained);
    expect(await handshake(h.url)).toEqual({ status: 503, retryAfter: '1' });
    expect(h.hub.stats().rejectedHandshakes).toEqual({ 503: 2 });
  });

  it('drainMs: 0 closes every client at once; app.close() then stops as before', async () => {
    const logs = captureLogs(/hub stopped/);
    const h = await hub({ drainMs: 0 });
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.welcomed(h.url)));
    raw.push(...clients);
    const startedAt = performance.now();
    expect(await h.hub.drain()).toEqual({ clients: 5, answered: 5, spreadMs: expect.any(Number) });
    expect(performance.now() - startedAt).toBeLessThan(500);
    expect(clients.map((c) => c.closeCode)).toEqual(Array(5).fill(1012));
    await h.close();
    expect(logs.entries.map((e) => e.message).filter((m) => m.startsWith('hub stopped'))).toEqual([
      expect.stringMatching(
        /^hub stopped: 5 clients closed with 1012 over \d+ ms, 5 answered, 0 cut; \d+ ms$/,
      ),
    ]);
  });

  it('a client that never answers its close is cut after shutdownTimeoutMs, and not counted as answered', async () => {
    const h = await hub({ drainMs: 0, shutdownTimeoutMs: 300 });
    const [polite, deaf] = await Promise.all([
      TestClient.welcomed(h.url),
      TestClient.welcomed(h.url),
    ]);
    raw.push(polite, deaf);
    (deaf.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // reads nothing more
    const startedAt = performance.now();
    expect(await h.hub.drain()).toEqual({ clients: 2, answered: 1, spreadMs: expect.any(Number) });
    const tookMs = performance.now() - startedAt;
    expect(tookMs).toBeGreaterThan(250);
    expect(tookMs).toBeLessThan(1500);
    expect(polite.closeCode).toBe(1012);
  });

  it('app.close() drains first: down and refusing while the clients leave in batches', async () => {
    const h = await hub({ drainMs: 600 });
    const clients = await Promise.all(Array.from({ length: 6 }, () => TestClient.welcomed(h.url)));
    raw.push(...clients);
    const health = h.app.get(HubHealthIndicator);
    const closing = h.close();
    await waitFor(() => health.isHealthy()['ws-hub'].status === 'down', 1000, 1);
    await waitFor(() => clients.filter((c) => c.closeCode !== undefined).length >= 1, 1000, 5);
    // mid-drain: some clients are still connected, and a new handshake is refused
    expect(clients.filter((c) => c.closeCode === undefined).length).toBeGreaterThan(0);
    expect(await handshake(h.url)).toEqual({ status: 503, retryAfter: '1' });
    await closing;
    expect(clients.map((c) => c.closeCode)).toEqual(Array(6).fill(1012));
  });
});

describe('ws-hub/client and a draining instance', () => {
  it('reconnects within restartDelayMs to the next instance of its list, whose rooms it rejoins', async () => {
    const a = await hub({ drainMs: 0 });
    const b = await hub({ drainMs: 0 });
    const changes: HubStateChange[] = [];
    const c = createHubClient([a.url, b.url], {
      WebSocket,
      reconnect: { restartDelayMs: 300 },
    });
    hubClients.push(c);
    c.onState((x) => changes.push(x));
    await c.ready();
    expect(await c.join('lobby')).toEqual({ room: 'lobby' });
    expect(a.hub.online).toBe(1);
    const drainedAt = performance.now();
    await a.hub.drain();
    await waitFor(() => b.hub.online === 1 && b.hub.rooms().includes('lobby'), 2000, 5);
    const backInMs = performance.now() - drainedAt;
    expect(backInMs).toBeLessThan(300 + 500);
    expect(changes.find((x) => x.state === 'reconnecting')).toMatchObject({
      code: 1012,
      reason: 'server restarting',
      cause: 'restart',
      attempt: 0,
    });
    expect(c.state).toBe('open');
    expect(a.hub.online).toBe(0);
  });
});
