import { describe, expect, it } from 'vitest';
import { kConnection } from '../../../src/ws-hub/core/connection.js';
import type { DeliveryStrategy } from '../../../src/ws-hub/core/delivery-strategy.js';
import { Registrar } from '../../../src/ws-hub/core/registrar.js';
import { Welcomer } from '../../../src/ws-hub/core/welcomer.js';
import type { HubConnectedEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import type { WsHubModuleOptions } from '../../../src/ws-hub/interfaces/options.interface.js';
import { instanceOfClientId } from '../../../src/ws-hub/protocol/client-id.js';
import { PROTOCOL_VERSION } from '../../../src/ws-hub/protocol/constants.js';
import { sleep, waitFor } from '../../helpers/client.js';
import { type CoreParts, useCoreParts } from '../../helpers/core-parts.js';

let core: CoreParts | undefined;
let connected: HubConnectedEvent[];

const fixture = useCoreParts();

function setup(options: WsHubModuleOptions = {}): CoreParts {
  core = fixture.build(options);
  connected = [];
  core.events.connected.subscribe((e) => connected.push(e));
  return core;
}

describe('Registrar', () => {
  it('registers a socket: an id of this instance, the indexes, the heartbeat, a welcome, connected$', async () => {
    const c = setup({ pingIntervalMs: 10_000, maxPayloadBytes: 4096 });
    const pair = await fixture.pairs.connect();
    const client = c.registrar.register(pair.server, {
      ip: '10.1.2.3',
      principal: { userId: 'u1', role: 'admin' },
    });
    expect(instanceOfClientId(client.id)).toBe(c.instanceId);
    expect(client.connectionId).toBe(client.id);
    expect(pair.server[kConnection]).toBe(client);
    expect(client.userId).toBe('u1');
    expect(client.remoteAddress).toBe('10.1.2.3');
    expect(c.registry.get(client.id)).toBe(client);
    expect(c.registry.fromIp('10.1.2.3')).toBe(1);
    expect(c.counters.connectionsOpened).toBe(1);
    expect(c.heartbeat.running).toBe(true);
    expect(client.bucket).toBeGreaterThanOrEqual(0);
    expect(client.frameSender).toBeDefined(); // no compression negotiated
    expect(c.adapter.calls).toEqual(['userAdded u1', `clientAdded ${client.id}`]);

    const [welcome] = await pair.frames(1);
    expect(JSON.parse(welcome)).toEqual({
      event: 'welcome',
      data: {
        clientId: client.id,
        pingIntervalMs: 10_000,
        protocol: PROTOCOL_VERSION,
        maxPayloadBytes: 4096,
        userId: 'u1',
      },
    });
    expect(connected).toEqual([
      {
        clientId: client.id,
        userId: 'u1',
        principal: { userId: 'u1', role: 'admin' },
        remoteAddress: '10.1.2.3',
        connectedAt: client.connectedAt,
      },
    ]);
  });

  it('subscribes a user only with its first connection here; ids are unique', async () => {
    const c = setup();
    const a = c.registrar.register((await fixture.pairs.connect()).server, {
      ip: undefined,
      principal: { userId: 'u1' },
    });
    const b = c.registrar.register((await fixture.pairs.connect()).server, {
      ip: undefined,
      principal: { userId: 'u1' },
    });
    const anon = c.registrar.register((await fixture.pairs.connect()).server, {
      ip: undefined,
      principal: undefined,
    });
    expect(new Set([a.id, b.id, anon.id]).size).toBe(3);
    expect(c.adapter.calls).toEqual([
      'userAdded u1',
      `clientAdded ${a.id}`,
      `clientAdded ${b.id}`,
      `clientAdded ${anon.id}`,
    ]);
    expect(anon.remoteAddress).toBe('127.0.0.1'); // read from the socket when the handshake did not
    expect(c.registry.size).toBe(3);
  });

  it('fills the rate-limit bucket when there is a rate limit', async () => {
    const limited = setup({ rateLimit: { messagesPerSecond: 5, burst: 7, maxViolations: 3 } });
    const a = limited.registrar.register((await fixture.pairs.connect()).server, {
      ip: undefined,
      principal: undefined,
    });
    expect(a.tokens).toBe(7);
    expect(a.lastRefillMs).toBeGreaterThan(0);
    limited.dispose();

    const open = setup({ rateLimit: false });
    const b = open.registrar.register((await fixture.pairs.connect()).server, {
      ip: undefined,
      principal: undefined,
    });
    expect(b.tokens).toBe(0);
  });

  it('marks the client alive when its socket answers a ping', async () => {
    const c = setup();
    const pair = await fixture.pairs.connect();
    const client = c.registrar.register(pair.server, { ip: undefined, principal: undefined });
    client.alive = false;
    pair.server.ping();
    await waitFor(() => client.alive);
  });

  it('without the welcome option: no frame, still announced', async () => {
    const c = setup({ welcome: false });
    const pair = await fixture.pairs.connect();
    const client = c.registrar.register(pair.server, { ip: undefined, principal: undefined });
    expect(connected.map((e) => e.clientId)).toEqual([client.id]);
    await sleep(30);
    expect(pair.received).toEqual([]);
  });

  it('leaves the welcome and the announcement to a strategy that takes them over', async () => {
    const c = setup();
    const admitted: unknown[] = [];
    // the plain strategy, except that it takes the welcome over (as recovery does)
    const strategy = Object.create(c.strategy) as DeliveryStrategy;
    strategy.admit = (client, info) => {
      admitted.push([client, info]);
      return false;
    };
    const registrar = new Registrar(
      c.counters,
      c.instanceId,
      c.options,
      c.registry,
      c.heartbeat,
      c.delivery,
      c.link,
      new Welcomer(c.options, c.events, c.expiry),
      strategy,
    );
    const pair = await fixture.pairs.connect();
    const info = { ip: undefined, principal: undefined, protocol: 'ws-hub.recovery' };
    const client = registrar.register(pair.server, info);
    expect(admitted).toEqual([[client, info]]);
    expect(c.registry.get(client.id)).toBe(client); // registered all the same
    expect(connected).toEqual([]);
    await sleep(30);
    expect(pair.received).toEqual([]);
  });
});
