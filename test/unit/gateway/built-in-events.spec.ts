import 'reflect-metadata';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Connection, kConnection } from '../../../src/ws-hub/core/connection.js';
import { HubFrameDispatcher } from '../../../src/ws-hub/core/frame-dispatcher.js';
import { HubCore, type GatewayRole } from '../../../src/ws-hub/core/hub-core.js';
import { HubCounters } from '../../../src/ws-hub/core/hub-counters.js';
import { MESSAGE_METADATA } from '../../../src/ws-hub/decorators/nest-metadata.js';
import {
  addBuiltInMethods,
  BUILT_IN_EVENTS,
  builtInRoutes,
  type BuiltInContext,
} from '../../../src/ws-hub/gateway/built-in-events.js';
import { resolveHubOptions } from '../../../src/ws-hub/options/resolve-options.js';
import { ClientEvent } from '../../../src/ws-hub/protocol/constants.js';

/** A hub whose `ack` is the hub's own (`HubCore.prototype.ack`), over a `messages$` subject. */
function fakeHub() {
  const message = new Subject<unknown>();
  const seen: unknown[] = [];
  message.subscribe((m) => seen.push(m));
  const hub = { events: { message } } as unknown as GatewayRole;
  (hub as { ack: unknown }).ack = HubCore.prototype.ack;
  return { hub, seen };
}

/** A gateway class given the generated built-in methods. */
class FakeGateway {
  constructor(readonly on: BuiltInContext) {}
  static {
    addBuiltInMethods(this, (g) => (g as FakeGateway).on);
  }
}

describe('built-in events', () => {
  it('have one entry for every ClientEvent but recover (the delivery strategy’s)', () => {
    expect(Object.keys(BUILT_IN_EVENTS).sort()).toEqual(
      Object.values(ClientEvent)
        .filter((e) => e !== ClientEvent.RECOVER)
        .sort(),
    );
  });

  it('are routes named after the gateway’s methods, recover after the recovery', () => {
    const routes = builtInRoutes('WsGateway', {} as BuiltInContext);
    expect(routes.map((r) => [r.event, r.owner, typeof r.run])).toEqual([
      ['recover', 'ws-hub recovery (built in)', 'undefined'],
      ['message', 'WsGateway.onMessage', 'function'],
      ['ping', 'WsGateway.onPing', 'function'],
      ['join', 'WsGateway.onJoin', 'function'],
      ['leave', 'WsGateway.onLeave', 'function'],
      ['refresh', 'WsGateway.onRefresh', 'function'],
    ]);
  });

  it('become @SubscribeMessage methods with the parameters Nest extracts', () => {
    const proto = FakeGateway.prototype as unknown as Record<string, { name: string }>;
    for (const [event, b] of Object.entries(BUILT_IN_EVENTS)) {
      expect(proto[b.method]!.name).toBe(b.method);
      expect(Reflect.getMetadata(MESSAGE_METADATA, proto[b.method]!)).toBe(event);
      expect(Reflect.getMetadata('design:paramtypes', proto, b.method)).toHaveLength(
        b.params.length,
      );
    }
    expect(BUILT_IN_EVENTS.message.params).toEqual(['socket', 'body', 'id']);
    expect(BUILT_IN_EVENTS.ping.params).toEqual([]);
  });

  it('ack once, the same way on the fast path and through Nest', () => {
    const { hub, seen } = fakeHub();
    const on = { hub, refresher: undefined as never };
    const sent: unknown[] = [];
    const dispatcher = new HubFrameDispatcher(
      resolveHubOptions({ rateLimit: false }),
      new HubCounters(),
      {
        deliverText: (_client, text) => (sent.push(JSON.parse(text)), true),
        closeClient: () => {},
      },
    );
    dispatcher.routes.declareBuiltIns(builtInRoutes('FakeGateway', on));
    const client = new Connection('i.c1', {} as never, 0, '127.0.0.1', { userId: 'u1' });
    const socket = { [kConnection]: client };
    const gateway = new FakeGateway(on) as unknown as Record<string, (...a: unknown[]) => unknown>;
    // What Nest binds for this socket: its pipeline ends in the generated method.
    const bound = new Map([
      ['message', (data: unknown, _e: string, id: unknown) => gateway.onMessage!(socket, data, id)],
    ]);
    const frame = { event: 'message', id: 7, data: { x: 1 } };
    dispatcher.routes.useBuiltInsDirectly(true);
    dispatcher.handleFrame(client, Buffer.from(JSON.stringify(frame)), false, bound);
    dispatcher.routes.useBuiltInsDirectly(false);
    dispatcher.handleFrame(client, Buffer.from(JSON.stringify(frame)), false, bound);
    const ack = { event: 'ack', id: 7, data: { x: 1 } };
    expect(sent).toEqual([ack, ack]);
    const emitted = { clientId: 'i.c1', userId: 'u1', event: 'message', data: { x: 1 }, id: 7 };
    expect(seen).toEqual([emitted, emitted]);
  });

  it('ack by returning the reply: the dispatcher’s replies write it, on both paths', () => {
    const { hub } = fakeHub();
    const big = 10n;
    expect(BUILT_IN_EVENTS.message.answer({ hub } as BuiltInContext, {} as never, big, 1)).toEqual({
      event: 'ack',
      data: big,
    });
  });
});
