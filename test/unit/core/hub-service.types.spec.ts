import { describe, expectTypeOf, it } from 'vitest';
import type { HubService } from '../../../src/ws-hub/index.js';
import type { createHubClient } from '../../../src/ws-hub/client/index.js';

interface ServerEvents {
  chat: { from: string; text: string };
  tick: number;
}

describe('one event map types both sides', () => {
  it('types HubService.broadcast, send and sendToUser with the map', () => {
    const hub = {} as HubService<ServerEvents>;
    expectTypeOf(hub.broadcast<'chat'>)
      .parameter(1)
      .toEqualTypeOf<{ from: string; text: string } | undefined>();
    expectTypeOf(hub.send<'tick'>)
      .parameter(2)
      .toEqualTypeOf<number | undefined>();
    // @ts-expect-error: not an event of ServerEvents
    expectTypeOf(hub.sendToUser).toBeCallableWith('u', 'caht', 1);
    // @ts-expect-error: wrong payload
    expectTypeOf(hub.broadcast).toBeCallableWith('tick', 'one');
    // untyped use stays simple
    const any = {} as HubService;
    expectTypeOf(any.broadcast).toBeCallableWith('anything', { x: 1 });
  });

  it('the client takes the same map', () => {
    const client = {} as ReturnType<typeof createHubClient<ServerEvents>>;
    expectTypeOf(client.on<'chat'>)
      .parameter(1)
      .parameter(0)
      .toEqualTypeOf<{ from: string; text: string }>();
    // @ts-expect-error: not an event of ServerEvents
    expectTypeOf(client.on).toBeCallableWith('caht', () => undefined);
  });
});
