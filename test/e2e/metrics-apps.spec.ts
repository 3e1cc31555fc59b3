import { Gauge, Registry, register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { HubMetrics } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';

/**
 * Issue 16, item 10 (the metrics part of "several apps in one process"): apps built side by
 * side with `metrics: true` share prom-client's global registry, each with its own `instance`
 * series, and the metrics leave the registry with the last of them.
 */

/** The `instance` label of every sample of `name`, with its value. */
function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+?)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const instance = /instance="([^"]*)"/.exec(m[2])?.[1];
    if (instance !== undefined) out.set(instance, (out.get(instance) ?? 0) + Number(m[3]));
  }
  return out;
}

describe('several apps with metrics in one process', () => {
  const apps: HubApp[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    for (const a of apps.splice(0)) await a.close();
  });

  it('start on the global registry, export their own instance series, and leave it one by one', async () => {
    const a = await startHub({ metrics: true });
    apps.push(a);
    const b = await startHub({ metrics: true });
    apps.push(b);
    expect(a.app.get(HubMetrics).registry).toBe(register);
    expect(b.app.get(HubMetrics).registry).toBe(register);
    const ia = a.hub.instanceId;
    const ib = b.hub.instanceId;

    const c1 = await TestClient.welcomed(a.url);
    const c2 = await TestClient.welcomed(a.url);
    const c3 = await TestClient.welcomed(b.url);
    clients.push(c1, c2, c3);
    await c1.request({ event: 'nope', id: 1 }); // an error frame on A only
    let text = await register.metrics();
    expect(Object.fromEntries(series(text, 'ws_hub_connections'))).toEqual({ [ia]: 2, [ib]: 1 });
    expect(Object.fromEntries(series(text, 'ws_hub_errors_total'))).toEqual({ [ia]: 1 });
    // Both apps serve the same text: it is one registry.
    expect(await b.app.get(HubMetrics).metrics()).toBe(await a.app.get(HubMetrics).metrics());

    await a.close();
    text = await register.metrics();
    expect(Object.fromEntries(series(text, 'ws_hub_connections'))).toEqual({ [ib]: 1 });
    expect(text).not.toContain(ia);
    expect(text).toMatch(/^# HELP ws_hub_errors_total /m);

    await b.close();
    expect(register.getSingleMetric('ws_hub_connections')).toBeUndefined();
    expect(await register.metrics()).not.toMatch(/ws_hub_/);

    // and a third app registers them again
    const c = await startHub({ metrics: true });
    apps.push(c);
    const viewer = await TestClient.welcomed(c.url);
    clients.push(viewer);
    await waitFor(() => c.hub.online === 1);
    text = await register.metrics();
    expect(Object.fromEntries(series(text, 'ws_hub_connections'))).toEqual({
      [c.hub.instanceId]: 1,
    });
  });

  it("refuses a registry that has a metric of the hub's name it did not create, naming the fix", async () => {
    const registry = new Registry();
    registry.registerMetric(
      new Gauge({ name: 'ws_hub_connections', help: 'not ours', registers: [] }),
    );
    await expect(startHub({ metrics: { registry } })).rejects.toThrow(
      /metrics.*ws_hub_connections.*registry of its own.*prefix/,
    );
    // what was registered before the clash is gone again
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual(['ws_hub_connections']);
  });
});
